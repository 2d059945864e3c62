"""The one reply/forward prefix table: every place that strips prefixes knows every prefix."""

from __future__ import annotations

import pytest

from watcher.analysis.proposals import classify_sent
from watcher.analysis.subjects import (
    AUTO_REPLY_PREFIXES,
    FORWARD_PREFIXES,
    REPLY_PREFIXES,
    is_forward,
    normalize_subject,
    split_subject,
    strip_prefixes,
)
from watcher.digest.suggest import strip_subject
from watcher.model import MessageFacts


@pytest.mark.parametrize(
    ("subject", "normalized"),
    [
        ("Re: Proposal", "proposal"),
        ("RE: FW: Re[2]: Proposal", "proposal"),
        ("AW: WG: Angebot 2026-114", "angebot 2026-114"),
        ("SV: Sv: VS: Offert", "offert"),
        ("Fwd: Fw: TR: RV: Enc: Antw: Rif: R: Odp: Vá: Devis", "devis"),
        ("RE : Devis  DL-2026-031", "devis dl-2026-031"),
        ("[acme-list] Re: [ext]  New   Site", "new site"),
        ("回复：报价", "报价"),
        ("Réunion", "réunion"),
        ("Regarding: Rebrand", "regarding: rebrand"),
        ("Re:", ""),
        ("RE: Out of Office AutoReply: Proposal", "proposal"),
        ("Automatic reply: Angebot 2026-114", "angebot 2026-114"),
        ("Abwesenheitsnotiz: AW: Angebot", "angebot"),
        ("Out of office", "out of office"),  # a subject, not a prefix
    ],
)
def test_normalize_subject(subject: str, normalized: str) -> None:
    assert normalize_subject(subject) == normalized


def _spellings(word: str) -> list[str]:
    return sorted({word, word.upper(), word.title()})


REPLIES = [spelling for word in REPLY_PREFIXES for spelling in _spellings(word)]
FORWARDS = [spelling for word in FORWARD_PREFIXES for spelling in _spellings(word)]


@pytest.mark.parametrize("prefix", REPLIES + FORWARDS)
@pytest.mark.parametrize("form", ["{}: ", "{} : ", "{}[2]: ", "{}(3): ", "{}^2: ", "{}："])
def test_every_prefix_is_stripped_alike_by_threading_scoring_and_the_digest(
    prefix: str, form: str
) -> None:
    # Before one table, "Antwort:", "VB:" and "VL:" still split threads, and "Odp:", "回复："
    # or "Re(2):" reached the digest's text and scored as a fresh subject.
    subject = form.format(prefix) + "Angebot 2026-114"
    assert split_subject(subject) == ("angebot 2026-114", True)
    assert strip_prefixes(subject) == ("Angebot 2026-114", True)
    assert strip_subject(subject) == "Angebot 2026-114"


@pytest.mark.parametrize("prefix", REPLIES)
def test_a_reply_subject_scores_as_one_whatever_its_language(prefix: str) -> None:
    facts = MessageFacts(key="1:1", subject=f"{prefix}: Proposal for Acme", is_from_me=True)
    assert classify_sent(facts).reasons == ("keyword 'Proposal' in reply subject",)


@pytest.mark.parametrize("prefix", FORWARDS)
def test_a_forward_subject_is_a_forward_whatever_its_language(prefix: str) -> None:
    assert is_forward(f"{prefix}: Proposal for Acme")
    facts = MessageFacts(key="1:1", subject=f"{prefix}: Proposal for Acme", is_from_me=True)
    reasons = classify_sent(facts).reasons
    assert reasons == ("keyword 'Proposal' in the subject of a forward: not counted",)


@pytest.mark.parametrize("phrase", AUTO_REPLY_PREFIXES)
def test_auto_reply_prefixes_are_stripped_but_are_no_reply_prefix(phrase: str) -> None:
    subject = f"{phrase.title()}: Angebot"
    assert split_subject(subject) == ("angebot", False)
    assert strip_subject(subject) == "Angebot"
    assert not is_forward(subject)


@pytest.mark.parametrize(
    ("subject", "stripped"),
    [
        ("Re:", ("Re:", False)),  # nothing but a prefix: what is left is all it says
        ("Re: [Acme]", ("[Acme]", True)),
        ("[External] Re: Quote 1042", ("Quote 1042", True)),
        ("[a list tag longer than twenty characters] Quote", ("Quote", False)),
        ("Proposal: Re-design", ("Proposal: Re-design", False)),
        ("Report: Q3", ("Report: Q3", False)),  # "re" must be the whole word
        ("Str: 5", ("Str: 5", False)),
    ],
)
def test_strip_prefixes_keeps_the_case_and_never_strips_everything(
    subject: str, stripped: tuple[str, bool]
) -> None:
    assert strip_prefixes(subject) == stripped


@pytest.mark.parametrize(
    ("subject", "forward"),
    [("Fwd: Re: x", True), ("Re: Fwd: x", False), ("[ext] Fw: x", False), ("WG : x", True)],
)
def test_is_forward_looks_at_the_first_prefix(subject: str, forward: bool) -> None:
    assert is_forward(subject) is forward
