"""Is a message I sent a proposal, quote, estimate, offer, contract or agreement?

Pure functions over `MessageFacts`; no I/O. `classify_sent` gives a score from independent
signals, each with a reason the digest shows; `RememberingClassifier` remembers verdicts.
The words and phrases it looks for: `keywords.py`. (Whether a message is automatic or a
bounce: `signals.py`.)

Scoring (`classify_sent`): each signal counts once, however often it occurs.

| signal                                                         | points      |
| -------------------------------------------------------------- | ----------- |
| keyword in an attachment name (`Proposal_Acme_v2.pdf`)         | +3.0        |
| keyword in the subject                                         | +3.0 (+1.5) |
| keyword in the subject of a reply/forward ("Re: Quote 1042")   | +1.0 (+0.5) |
| keyword in my own text (quotes and signature stripped)         | +2.0 (+1.0) |
| e-signature service (DocuSign, PandaDoc, Dropbox Sign, ...)    | +3.0        |
| a request to sign ("please review and sign", "unterschreiben") | +2.0        |
| a price (`EUR 12,400`, `12 400 €`, `$4,500`, `SEK 9 000`)      | +1.5        |
| a PDF/DOC(X)/ODT/RTF/Pages attachment without a keyword        | +1.5        |
| "invoice" (any language) in the subject or an attachment name  | -4.0        |
| "invoice" in my text, when no keyword was found anywhere       | -1.5        |

Points in brackets are for ambiguous words ("offer", "förslag", "proposta", "accord"...),
which count half. Tracked at `TRACK_THRESHOLD` = 3.0: one strong signal alone (a keyword
in the subject or an attachment name, an e-signature link), or two weaker ones together
(a keyword in the text plus a price or a document; a price plus a PDF).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

from watcher.analysis.keywords import (
    APPROVE_RE,
    ASK_RE,
    CAMEL,
    DOCUMENT_TYPES,
    DOCUMENTS,
    ESIGN_RE,
    ESIGN_SERVICES,
    IDIOMS,
    INFORM_RE,
    INVOICE,
    OFFER_RE,
    OPINION_RE,
    PRICE_RE,
    REVIEW_RE,
    SEND_RE,
    SIGN_REQUEST_RE,
    fold,
    keywords_with,
)
from watcher.analysis.owntext import split_own
from watcher.analysis.subjects import is_forward, strip_prefixes
from watcher.model import TRACK_THRESHOLD, Classification, MessageFacts

__all__ = ["CLASSIFIER_VERSION", "RememberingClassifier", "classify_sent"]

# Bump when the rules below change: verdicts remembered in the store are then recomputed.
CLASSIFIER_VERSION = 4

_ATTACHMENT = 3.0
_SUBJECT = 3.0
_REPLY_SUBJECT = 1.0
_TEXT = 2.0
_ESIGN = 3.0
_SIGN_REQUEST = 2.0
_PRICE = 1.5
_DOCUMENT = 1.5
_INVOICE_NAMED = -4.0
_INVOICE_IN_TEXT = -1.5
_SEND_ACT = 1.5  # "attached is", "here is the", with a kind of document
_REVIEW_ACT = 1.5  # "for your review", "let me know if this is acceptable", with a kind
_OFFER_ACT = 1.5  # "our price is", or "are you OK with" a price
_ASK_PENALTY = -4.0  # asks for their document or answer, and sends nothing
_INFORM_PENALTY = -4.0  # FYI, a status note, "the proposals we sent last week"
_NEAR = 150  # characters between an act and the document it sends
_PRICE_AFTER_OFFER = 80  # "we can offer the storage at $0.12": the price follows closely


class _Acts:
    """What my words do, each looked up only when a verdict needs it (most sent mail names
    no document and no price, and never needs these searches)."""

    def __init__(self, folded: str, subject: str, forwarded: bool) -> None:
        self._folded = folded
        self._subject = subject
        self._forwarded = forwarded

    @cached_property
    def sign(self) -> re.Match[str] | None:
        return SIGN_REQUEST_RE.search(self._folded)

    @cached_property
    def service(self) -> re.Match[str] | None:
        return ESIGN_RE.search(self._folded) or ESIGN_RE.search(fold(self._subject))

    @cached_property
    def review(self) -> re.Match[str] | None:
        found = REVIEW_RE.search(self._folded)
        if found is None and SEND_RE.search(self._folded) is not None:
            found = OPINION_RE.search(self._folded)
        return found

    @cached_property
    def approve(self) -> re.Match[str] | None:
        return APPROVE_RE.search(self._folded)

    @cached_property
    def offer(self) -> re.Match[str] | None:
        return OFFER_RE.search(self._folded)

    @cached_property
    def asks_decision(self) -> bool:
        return self.review is not None or self.sign is not None or self.service is not None

    @cached_property
    def send(self) -> re.Match[str] | None:
        if self._forwarded and not self.asks_decision:
            # Forwarding is the sending: someone else's document becomes my proposal only
            # when I ask for a decision on it.
            return None
        return SEND_RE.search(self._folded)

    @cached_property
    def acted(self) -> bool:
        return self.send is not None or self.asks_decision or self.offer is not None


@dataclass(slots=True)
class _Verdict:
    """The score being built, with its reasons in the order they were found."""

    score: float = 0.0
    reasons: list[str] = field(default_factory=list)

    def add(self, points: float, reason: str) -> None:
        self.score += points
        self.reasons.append(reason)


def classify_sent(
    facts: MessageFacts, *, extra_keywords: Sequence[str] = (), ignore_subject: bool = False
) -> Classification:
    """Is this message (one I sent) a proposal, quote, estimate, offer, contract or agreement?

    It does not check that the message is mine: the caller does. `extra_keywords` are the
    user's own words, matched like the built-in ones and counted as "proposal".
    `ignore_subject`: the subject was inherited from someone else's message ("Re: Your
    proposal"), so it says nothing about what I sent.

    In steps: (1) strip what is not mine; (2) find what my words do (send, ask for review,
    offer, sign; or ask for theirs, or inform); (3) find the kind of document (attachment
    name, subject, my text); (4) money and documents, which count only with an act.
    """
    keywords = keywords_with(tuple(extra_keywords))
    verdict = _Verdict()

    # 1. Whose words: a forward passes on someone else's subject and attachments.
    own = split_own(facts.body_text)
    subject = "" if ignore_subject else facts.subject
    forwarded = is_forward(subject) or own.forward_header or own.nothing_mine
    topic, replied = strip_prefixes(subject)
    if not forwarded and not replied and own.quoted_subject:
        # The subject of the message quoted below, kept without "Fw:" (Lotus Notes does so).
        forwarded = _same_topic(topic, own.quoted_subject)
    if own.nothing_mine:
        reason = "forward with nothing of mine: not counted"
        return Classification(kind="", score=0.0, reasons=(reason,))
    text = own.text
    folded_text = _without_idioms(fold(text))

    # 2. What my words do (each act looked up only when the verdict needs it).
    acts = _Acts(folded_text, subject, forwarded)

    # 3. The kind of document: attachment names, subject, my text.
    named_kind, subject_kind, text_kind, reply_kind = "", "", "", ""
    invoice = False
    document = ""
    for attachment in facts.attachments:
        name = attachment.filename
        folded_name = fold(CAMEL.sub(" ", name.rsplit(".", 1)[0]))
        hit = keywords.best(folded_name)
        if INVOICE.search(folded_name):
            invoice = True
            verdict.add(0.0, f"not a proposal: attachment {name} is an invoice")
        elif hit is not None and (not forwarded or acts.asks_decision):
            named_kind = named_kind or hit[0]
            verdict.add(0.0, f"attachment {name}")
        elif attachment.content_type in DOCUMENT_TYPES or name.lower().endswith(DOCUMENTS):
            document = document or name
    if named_kind:
        verdict.score += _ATTACHMENT

    folded_topic = _without_idioms(fold(topic))
    found = INVOICE.search(folded_topic)
    if found is not None:
        invoice = True
        verdict.add(0.0, f"not a proposal: invoice {_quoted(topic, found)} in subject")
    hit = keywords.best(folded_topic)
    if hit is not None:
        kind, factor, start, end = hit
        word = topic[start:end]
        if forwarded and acts.asks_decision:
            subject_kind = kind
            verdict.add(_SUBJECT * factor, f"keyword {word!r} in forwarded subject, for review")
        elif forwarded:
            reply_kind = kind
            verdict.add(0.0, f"keyword {word!r} in the subject of a forward: not counted")
        elif replied:
            reply_kind = kind
            verdict.add(_REPLY_SUBJECT * factor, f"keyword {word!r} in reply subject")
        else:
            subject_kind = kind
            verdict.add(_SUBJECT * factor, f"keyword {word!r} in subject")

    hit = keywords.best(folded_text)
    if hit is not None:
        text_kind, factor, start, end = hit
        verdict.add(_TEXT * factor, f"keyword {' '.join(text[start:end].split())!r} in text")
    kinds = [k for k in (named_kind, subject_kind, text_kind, reply_kind) if k]
    if invoice:
        verdict.score += _INVOICE_NAMED
    elif not kinds and (found := INVOICE.search(folded_text)) is not None:
        # Proposals mention invoicing terms; only a mail with no keyword is "the invoice".
        verdict.add(_INVOICE_IN_TEXT, f"not a proposal: invoice {_quoted(text, found)} in text")

    # The acts count with a kind of document: "attached are the photos" sends no proposal.
    # When only my text names it, the act must be near it: "here is the draft".
    named_elsewhere = bool(named_kind or subject_kind or reply_kind)

    def near(act: re.Match[str]) -> bool:
        start, end = max(0, act.start() - _NEAR), act.end() + _NEAR
        return named_elsewhere or keywords.best(folded_text[start:end]) is not None

    if kinds and (send := acts.send) is not None and near(send):
        verdict.add(_SEND_ACT, f"sends the {kinds[0]} ({_quoted(text, send)})")
    if kinds and (review := acts.review) is not None and near(review):
        verdict.add(_REVIEW_ACT, f"asks for a decision on it ({_quoted(text, review)})")
    if (service := acts.service) is not None:
        name = next(n for n, p in ESIGN_SERVICES if re.fullmatch(p, service.group()))
        verdict.add(_ESIGN, f"{name} link")
    if (sign := acts.sign) is not None:
        verdict.add(_SIGN_REQUEST, f"asks to sign ({_quoted(text, sign)})")

    # 4. Money and documents: a price is a proposal's only when something is offered or sent.
    price = PRICE_RE.search(text) or PRICE_RE.search(subject)
    if price is not None and (named_kind or document or acts.acted):
        verdict.add(_PRICE, f"price {' '.join(price.group(0).split())}")
    if document and not named_kind and not invoice and (not forwarded or acts.asks_decision):
        verdict.add(_DOCUMENT, f"document attachment {document}")
    if price is not None and (offer := acts.offer) is not None and _price_near(text, offer):
        verdict.add(_OFFER_ACT, f"names its price ({_quoted(text, offer)})")
    elif price is not None and not kinds and (approve := acts.approve) is not None:
        verdict.add(_OFFER_ACT, f"asks to accept a price ({_quoted(text, approve)})")

    # Counter-signals, named only where they overturn the verdict.
    if verdict.score >= TRACK_THRESHOLD and not acts.acted:
        _add_asking(verdict, text, folded_text, "" if replied or forwarded else topic)
    if verdict.score >= TRACK_THRESHOLD and not acts.asks_decision and acts.offer is None:
        found = INFORM_RE.search(folded_text)
        if found is not None:
            verdict.add(_INFORM_PENALTY, f"not a proposal: only informs ({_quoted(text, found)})")

    score = round(verdict.score, 2)
    reasons = tuple(verdict.reasons)
    if score < TRACK_THRESHOLD:
        return Classification(kind="", score=score, reasons=reasons)
    signing = acts.sign is not None or acts.service is not None
    kind = kinds[0] if kinds else "contract" if signing else "proposal"
    return Classification(kind=kind, score=score, reasons=reasons)


def _price_near(text: str, offer: re.Match[str]) -> bool:
    """ "Our price is $4,500", not "our price is right" after a price of something else."""
    return PRICE_RE.search(text[offer.end() : offer.end() + _PRICE_AFTER_OFFER]) is not None


def _add_asking(verdict: _Verdict, text: str, folded: str, subject: str) -> None:
    """My text or subject asks for something of theirs, or asks a question, and I send
    nothing: "Can you send me the executed copy?", "Where is the agreement?"."""
    found = ASK_RE.search(folded)
    if found is not None:
        verdict.add(
            _ASK_PENALTY, f"not a proposal: asks and sends nothing ({_quoted(text, found)})"
        )
        return
    found = ASK_RE.search(fold(subject))
    if found is not None or subject.rstrip().endswith("?"):
        shown = _quoted(subject, found) if found else repr(_one_line(subject))
        verdict.add(_ASK_PENALTY, f"not a proposal: asks and sends nothing ({shown})")


def _same_topic(subject: str, quoted: str) -> bool:
    quoted = strip_prefixes(quoted)[0]
    return bool(subject.strip()) and fold(_one_line(subject)) == fold(_one_line(quoted))


def _without_idioms(folded: str) -> str:
    if "accord" in folded or "acuerdo" in folded or "acordo" in folded:
        return IDIOMS.sub(_blank, folded)
    return folded


def _blank(match: re.Match[str]) -> str:
    return " " * (match.end() - match.start())


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _quoted(original: str, match: re.Match[str]) -> str:
    # Positions in folded text are positions in the original: quote the words as written.
    return repr(_one_line(original[match.start() : match.end()]))


class RememberingClassifier:
    """`classify_sent` with a memory, so each sent message is classified once, ever.

    Classification is a pure function of the message's subject, text and attachments, the
    user's extra keywords and the classifier's version: the digest of all of them is the key.
    The store keeps the verdicts between runs; `fresh` holds the ones new in this run.
    """

    def __init__(
        self, known: dict[str, Classification], extra_keywords: Sequence[str] = ()
    ) -> None:
        self.known = known
        self.extra_keywords = tuple(extra_keywords)
        self.fresh: dict[str, Classification] = {}
        self._salt = f"{CLASSIFIER_VERSION}\x00" + "\x01".join(self.extra_keywords)

    def digest(self, facts: MessageFacts, ignore_subject: bool = False) -> str:
        attachments = "\x01".join(a.filename + "\x02" + a.content_type for a in facts.attachments)
        subject = "" if ignore_subject else facts.subject
        text = f"{self._salt}\x00{subject}\x00{facts.body_text}\x00{attachments}"
        return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=12).hexdigest()

    def __call__(self, facts: MessageFacts, ignore_subject: bool = False) -> Classification:
        key = self.digest(facts, ignore_subject)
        found = self.known.get(key)
        if found is None:
            found = classify_sent(
                facts, extra_keywords=self.extra_keywords, ignore_subject=ignore_subject
            )
            self.known[key] = self.fresh[key] = found
        return found
