"""The four error patterns of issue 9 that the classifier owns, pinned with small hand-written
messages (never corpus text): whose words count, money alone, asking for nothing, the act of
sending a document. And bad input stays harmless."""

from __future__ import annotations

import signal
from collections.abc import Iterator, Sequence
from types import FrameType

import pytest

from watcher.analysis.proposals import classify_sent
from watcher.model import Attachment, MessageFacts

_TYPES = {"pdf": "application/pdf", "docx": "application/msword"}


def sent(subject: str, body: str, files: Sequence[str] = ()) -> MessageFacts:
    attachments = tuple(
        Attachment(name, _TYPES.get(name.rsplit(".", 1)[-1], "application/octet-stream"), 9000)
        for name in files
    )
    return MessageFacts(
        key="1:1", subject=subject, body_text=body, attachments=attachments, is_from_me=True
    )


THEIR_OFFER = (
    "Attached is our supply agreement for your review: EUR 12,400 a year.\n"
    "Please review and sign by Friday.\n"
)
OUTLOOK = "-----Original Message-----\nFrom: Ana Ruiz\nSent: Monday, 2 November 2026 10:00\n"


# --- 1. someone else's words are not mine ----------------------------------------------------


@pytest.mark.parametrize(
    ("subject", "body"),
    [
        ("FW: Supply agreement", f"{OUTLOOK}Subject: Supply agreement\n\n{THEIR_OFFER}"),
        ("Fwd: Supply agreement", f"FYI\n\n{OUTLOOK}\n{THEIR_OFFER}"),
        ("WG: Liefervertrag", f"zur Kenntnis\n\n{OUTLOOK}\n{THEIR_OFFER}"),
        # Lotus Notes keeps the subject and puts a "Forwarded by" line on top
        (
            "Supply agreement",
            "---------------------- Forwarded by Maya Lind/HOU/Corp on 11/02/2026 10:02 AM"
            f" ---------------------------\n\n{THEIR_OFFER}",
        ),
        (
            "Supply agreement",
            f"Jane Doe <jd@acme.example> on 11/02/26 03:06:49 PM\n\n{THEIR_OFFER}",
        ),
    ],
)
def test_a_pure_forward_counts_nothing(subject: str, body: str) -> None:
    result = classify_sent(sent(subject, body, ["Supply_agreement.pdf"]))
    assert not result.is_tracked
    assert result.reasons == ("forward with nothing of mine: not counted",)


@pytest.mark.parametrize(
    "quote",
    [
        "Jane Doe <jd@acme.example> on 11/02/26 03:06:49 PM\n\nTo: Maya\nSubject: Supply",
        "\tJane Doe\n\t11/02/2026 03:06 PM\n\n\tTo: Maya Lind/HOU/Corp@Corp\n\tcc:\n\tSubject: x",
        OUTLOOK,
    ],
)
def test_prices_and_sign_requests_in_quoted_text_never_count(quote: str) -> None:
    result = classify_sent(
        sent("Lunch on Friday", f"Sounds good, thanks.\n\n{quote}\n{THEIR_OFFER}")
    )
    assert result.score == 0.0
    assert result.reasons == ()


def test_a_forward_that_keeps_the_subject_gives_it_no_credit() -> None:
    # No "Fw:" prefix, but the quoted message below carries the same subject: it is theirs.
    body = f"Interesting, see what they did.\n\n{OUTLOOK}Subject: Supply contract\n\nText.\n"
    result = classify_sent(sent("Supply contract", body))
    assert not result.is_tracked
    assert result.reasons == ("keyword 'contract' in the subject of a forward: not counted",)


def test_a_forward_sending_their_document_without_a_request_is_not_mine() -> None:
    body = f"Steve, here is the electronic version of the Acme proposal.\n\n{OUTLOOK}\nText."
    assert not classify_sent(sent("FW: Transport proposal", body)).is_tracked


def test_a_forward_with_my_request_for_review_is_tracked() -> None:
    body = f"Lee, please look this over before I send it to Acme.\n\n{OUTLOOK}\n{THEIR_OFFER}"
    result = classify_sent(sent("FW: Draft supply agreement", body))
    assert result.is_tracked
    assert result.kind == "agreement"
    assert "keyword 'agreement' in forwarded subject, for review" in result.reasons
    assert "asks for a decision on it ('please look this over')" in result.reasons


# --- 2. money alone is weak -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("subject", "body"),
    [
        ("Rate change", "The rate on contract #12345 goes up by $3.10 per month from May."),
        (
            "Capacity release",
            "Contract   Shipper   Volume   Rate\n26490   Acme   70,000   $0.15\n"
            "26606   Beta   40,000   $0.07\n",
        ),
        ("Prepayment", "Under the agreement the prepayment of $250,000 is due on Friday."),
        ("Briefing", "The contract is worth $10 MM to the group this year."),
        ("Promotion", "I recommend Sam for promotion; the contract salary would be $95,000."),
    ],
)
def test_a_document_word_and_a_price_in_operational_mail_are_not_a_proposal(
    subject: str, body: str
) -> None:
    result = classify_sent(sent(subject, body))
    assert not result.is_tracked, result
    assert not any(r.startswith("price") for r in result.reasons)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("We can offer the storage service at $0.12 a unit for two years.", "'We can offer'"),
        ("Our price is EUR 4,500 for the whole site.", "'Our price is'"),
    ],
)
def test_a_price_with_an_act_of_offering_is_a_proposal(body: str, reason: str) -> None:
    result = classify_sent(sent("Storage", body))
    assert result.is_tracked, result
    assert f"names its price ({reason})" in result.reasons


def test_a_price_put_up_for_approval_is_a_proposal() -> None:
    result = classify_sent(
        sent("Cal 03", "Paul can do the Cal 03 hedge at $3.14. Are you OK with that?")
    )
    assert result.is_tracked
    assert "asks to accept a price ('Are you OK with')" in result.reasons


def test_an_offer_word_far_from_the_price_is_not_an_offer() -> None:
    body = "The trade went through at $285.95 as booked by the broker.\nOur price is right."
    assert not classify_sent(sent("Checkout", body)).is_tracked


# --- 3. messages that ask for nothing -------------------------------------------------------


@pytest.mark.parametrize(
    ("subject", "body"),
    [
        ("Where is the services agreement?", "Is it written yet?"),
        ("Executed contract", "Please send me the executed copy of the contract."),
        ("Quote for December", "Can you get me a quote for 10,000 a day through December?"),
        ("Basis quote", "Need market indications for the basis through 2007. Thanks"),
        ("Supply agreement", "Do you have the signed supply agreement on file?"),
        ("Anna's contract", "Any sign?"),
    ],
)
def test_asking_for_their_document_is_not_a_proposal(subject: str, body: str) -> None:
    result = classify_sent(sent(subject, body))
    assert not result.is_tracked, result
    assert any(r.startswith("not a proposal: asks and sends nothing") for r in result.reasons)


@pytest.mark.parametrize(
    ("subject", "body"),
    [
        ("Acme proposal", "FYI, here is the proposal we sent to Acme last week."),
        ("Supply agreement", "I have sent the supply agreement to legal."),
        ("Rate change on contract 26490", "I wanted to let everyone know the contract rate rises."),
    ],
)
def test_an_fyi_or_a_status_note_is_not_a_proposal(subject: str, body: str) -> None:
    result = classify_sent(sent(subject, body))
    assert not result.is_tracked, result
    assert any(r.startswith("not a proposal: only informs") for r in result.reasons)


def test_an_acknowledgement_is_not_a_proposal() -> None:
    assert not classify_sent(sent("Re: Supply contract", "Thanks, got it.")).is_tracked


# --- 4. the vocabulary and the act of sending a document ------------------------------------


def test_a_master_draft_with_the_contract_attached_is_tracked() -> None:
    result = classify_sent(sent("Master draft", "Master draft of the supply contract attached."))
    assert result.is_tracked
    assert result.kind == "contract"
    assert "sends the contract ('attached')" in result.reasons


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        ("Attached please find the revised term sheet for your comments.", "proposal"),
        ("Here is the letter of intent we discussed.", "proposal"),
        ("Enclosed is the LOI, let me know if it is acceptable.", "proposal"),
        ("Attached is the NDA for your signature.", "agreement"),
        ("Here is the MSA with our edits.", "agreement"),
        ("Attached is a suggested amendment to the supply terms.", "agreement"),
        ("Here is the addendum for the second site.", "agreement"),
        ("Attached is the redline of their version.", "contract"),
        ("Here is the guaranty for your review.", "agreement"),
        ("Attached is the deal confirmation for your signature.", "contract"),
        ("Enclosed is our bid; let me know if it is acceptable.", "proposal"),
        ("Attached are execution copies of the agreement; please sign and return.", "agreement"),
        ("I would like for you to review a draft of the storage agreement.", "agreement"),
    ],
)
def test_sending_a_contract_document_is_tracked(body: str, kind: str) -> None:
    result = classify_sent(sent("Acme", body))
    assert result.is_tracked, result
    assert result.kind == kind


def test_an_act_without_a_kind_of_document_is_not_enough() -> None:
    result = classify_sent(
        sent("Friday", "Attached are the photos. Let me know your thoughts.", ["photos.pdf"])
    )
    assert not result.is_tracked


def test_the_act_must_be_near_the_document_it_sends() -> None:
    body = (
        "Here is our updated form for the audit with the details they asked for.\n"
        + "The tabs are as before, sorted by region and by desk as agreed. " * 4
        + "\nWe are still working on the contracts."
    )
    assert not classify_sent(sent("Form A", body)).is_tracked


def test_reasons_say_what_the_message_does() -> None:
    result = classify_sent(
        sent("Supply agreement", "Attached is the draft agreement for your review.", ["v2.docx"])
    )
    assert result.reasons == (
        "keyword 'agreement' in subject",
        "keyword 'agreement' in text",
        "sends the agreement ('Attached')",
        "asks for a decision on it ('for your review')",
        "document attachment v2.docx",
    )


# --- bad input stays harmless ---------------------------------------------------------------


@pytest.fixture
def deadline() -> Iterator[None]:
    """Fails a test that runs for more than 60 s: a generous bound for a linear scan of a few
    megabytes, far below what a regex that backtracks on them would need."""

    def expire(signum: int, frame: FrameType | None) -> None:
        raise TimeoutError("classifying took more than 60 s: a regex backtracks")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(60)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


MEGABYTES = 5 * 1024 * 1024


@pytest.mark.parametrize(
    "unit",
    [
        "attached here is the draft contract for your review $1,000 ",
        "Jane Doe@x on 1/1/2000 ",
        "12/13/2000 10:00 AM\n\n\n",
        "On " + "x" * 299 + "\n",
        "From: x\n",
        "> quoted line with a contract and EUR 1,000\n",
        "@" * 119 + " on 1/1/2000\n",
        "need need can you where is ",
        "123 " * 50,
    ],
)
@pytest.mark.usefixtures("deadline")
def test_megabytes_of_adversarial_text_take_bounded_time(unit: str) -> None:
    body = unit * (MEGABYTES // len(unit))
    result = classify_sent(sent(unit[:200] * 50, body))  # a 10,000-character subject too
    assert result.is_tracked == (result.kind != "")


@pytest.mark.parametrize("body", ["", "\n", "> only\n> a quote\n", f"{OUTLOOK}\n{THEIR_OFFER}"])
def test_empty_and_quote_only_bodies_are_harmless(body: str) -> None:
    result = classify_sent(sent("x" * 10_000, body))
    assert not result.is_tracked
