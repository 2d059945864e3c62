"""Is a message I sent a proposal, quote, estimate, offer, contract or agreement?

Pure functions over `MessageFacts`; no I/O. `classify_sent` gives a score from independent
signals, each with a reason the digest shows; `RememberingClassifier` remembers verdicts.
(Whether a message is automatic or a bounce: `signals.py`.)

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
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

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
STRONG, WEAK = 1.0, 0.5

# Keywords: (language, kind, weight factor, pattern). Patterns are regexes over *folded* text
# (lower case, accents removed: "orçamento" is written "orcamento"), without capturing groups;
# the whole word must match (letters on either side forbid a match, digits and "_" do not:
# "Quote1042", "Angebot_2026"). Where two start at the same place, strong before weak, then
# the first row wins. _C admits Germanic compounds ending in the word ("Rahmenvertrag",
# "samarbetsavtal", "prijsofferte"): the head of such a compound is its last part.
_C = r"[^\W\d_]*"
_KEYWORDS: tuple[tuple[str, str, float, str], ...] = (
    ("en", "proposal", STRONG, r"proposals?"),
    ("en", "quote", STRONG, r"quotes?|quotations?"),
    ("en", "estimate", STRONG, r"cost\s+estimates?|estimates?"),
    ("en", "contract", STRONG, r"contracts?|statements?\s+of\s+work|sow"),
    ("en", "agreement", STRONG, r"agreements?|engagement\s+letters?"),
    ("en", "offer", WEAK, r"offers?"),  # "we can offer a call"
    ("en", "quote", WEAK, r"pricing|price\s+lists?"),
    # The vocabulary of contract work: drafts and mark-ups, side letters, pre-contracts.
    ("en", "proposal", STRONG, r"term\s+sheets?|letters?\s+of\s+intent|lois?|rfp\s+responses?"),
    ("en", "agreement", STRONG, r"ndas?|msas?|amendments?|addend(?:um|ums|a)|guarant(?:y|ies)"),
    ("en", "contract", STRONG, r"red-?lines?|red-?lined|blacklines?"),
    ("en", "contract", WEAK, r"drafts?|mark-?ups?|confirmations?"),  # "draft agenda"
    ("en", "proposal", WEAK, r"bids?|tenders?"),  # traders bid all day
    ("de", "quote", STRONG, rf"{_C}angebot(?:e|es|s)?"),
    ("de", "estimate", STRONG, r"kostenvoranschlage?|kostenschatzung(?:en)?"),
    ("de", "contract", STRONG, rf"{_C}vertrag(?:e|es|s)?"),
    ("de", "contract", STRONG, r"leistungsbeschreibung"),
    ("de", "agreement", STRONG, r"vereinbarung(?:en)?"),  # no compounds: Terminvereinbarung
    ("de", "proposal", WEAK, r"vorschlage?"),  # Terminvorschlag is not matched either
    ("fr", "quote", STRONG, r"devis"),
    ("fr", "proposal", STRONG, r"propositions?\s+commerciales?"),
    ("fr", "proposal", WEAK, r"propositions?"),
    ("fr", "offer", STRONG, r"offres?\s+(?:commerciales?|de\s+prix)"),
    ("fr", "offer", WEAK, r"offres?"),
    ("fr", "contract", STRONG, r"contrats?"),
    ("fr", "agreement", STRONG, r"lettres?\s+de\s+mission|conventions?\s+de\s+prestations?"),
    ("fr", "agreement", WEAK, r"accords?"),  # "d'accord" is blanked first, see _IDIOMS
    ("fr", "estimate", STRONG, r"chiffrages?"),
    ("fr", "estimate", WEAK, r"estimations?"),
    ("es", "quote", STRONG, r"presupuestos?|cotizacion(?:es)?"),
    ("es", "proposal", STRONG, r"propuestas?\s+(?:comercial|economica)(?:es)?"),
    ("es", "proposal", WEAK, r"propuestas?"),
    ("es", "offer", STRONG, r"ofertas?\s+comercial(?:es)?"),
    ("es", "offer", WEAK, r"ofertas?"),
    ("es", "contract", STRONG, r"contratos?"),
    ("es", "agreement", WEAK, r"acuerdos?"),
    ("es", "estimate", WEAK, r"estimacion(?:es)?"),
    ("nl", "quote", STRONG, rf"{_C}offertes?"),
    ("nl", "quote", STRONG, r"prijsopga(?:ve|ven|af)"),
    ("nl", "estimate", STRONG, r"kostenraming(?:en)?"),
    ("nl", "estimate", WEAK, r"begroting(?:en)?"),
    ("nl", "proposal", WEAK, rf"{_C}voorstel(?:len)?"),
    ("nl", "contract", STRONG, r"contracten"),
    ("nl", "agreement", STRONG, rf"{_C}overeenkomst(?:en)?"),
    ("it", "quote", STRONG, r"preventiv[oi]"),
    ("it", "proposal", STRONG, r"propost[ae]\s+commercial[ei]"),
    ("it", "proposal", WEAK, r"propost[ae]"),
    ("it", "offer", WEAK, r"offerta"),  # plural "offerte" is taken by Dutch (a quote)
    ("it", "contract", STRONG, r"contratt[oi]"),
    ("it", "agreement", WEAK, r"accord[oi]"),
    ("pt", "quote", STRONG, r"orcamentos?|cotac(?:ao|oes)"),
    ("pt", "proposal", STRONG, r"propostas?\s+comercia(?:l|is)"),
    ("pt", "proposal", WEAK, r"propostas"),
    ("pt", "agreement", WEAK, r"acordos?"),
    ("pt", "estimate", WEAK, r"estimativas?"),
    ("sv", "estimate", STRONG, r"kostnadsforslag(?:et|en)?"),
    ("sv", "quote", STRONG, rf"{_C}offert(?:en|er|erna)?"),
    ("sv", "quote", STRONG, r"prisforslag(?:et|en)?"),
    ("sv", "proposal", STRONG, r"anbud(?:et|en)?"),
    ("sv", "proposal", WEAK, r"forslag(?:et|en)?"),
    ("sv", "agreement", STRONG, rf"{_C}avtal(?:et|en)?"),
    ("sv", "contract", STRONG, rf"{_C}kontrakt(?:et|en)?"),
    ("sv", "offer", WEAK, r"erbjudanden?|erbjudandet"),
)


class _Guarded:
    """A regex that is only run when the text holds one of its literal pieces.

    Patterns that start with a look-behind or an alternation cost ~0.1 µs per character of
    text even when nothing matches; a few substring tests rule most texts out at once.
    """

    __slots__ = ("_needles", "_pattern")

    def __init__(self, pattern: re.Pattern[str], needles: tuple[str, ...]) -> None:
        self._pattern = pattern
        self._needles = needles

    def search(self, text: str) -> re.Match[str] | None:
        lowered = text if text.islower() else text.lower()
        if not any(needle in lowered for needle in self._needles):
            return None
        return self._pattern.search(text)


# An invoice is a different thing: never a proposal. (No compounds for "Rechnung": Berechnung.)
_INVOICE = _Guarded(
    re.compile(
        r"(?<![^\W\d_])(?:invoices?|credit\s+notes?|(?:schluss|abschlags|teil)?rechnung(?:en)?"
        r"|gutschrift|factures?|facturas?|factuur|facturen|fattura|fatture|faturas?"
        r"|faktura(?:n|or|orna)?)(?![^\W\d_])"
    ),
    ("invoice", "credit", "rechnung", "gutschrift", "factu", "fattur", "fatur", "faktur"),
)
# Idioms that contain an agreement word but mean "OK": blanked before keyword matching.
_IDIOMS = re.compile(r"\bd['’]\s?accord[oi]?\b|\bde\s+(?:acuerdo|acordo)\b")
# A keyword right after these asks for someone else's document ("Can you send me your
# quote?", "Anfrage für ein Angebot") or names it ("their proposal", "broker quotes"): that
# is not a proposal of mine.
_REQUEST_BEFORE = re.compile(
    r"(?:\b(?:request(?:s|ing)?(?:\s+for)?|ask(?:ing)?\s+for|send\s+(?:me|us)|get\s+(?:me|us)"
    r"|their|his|her|brokers?['’]?|market"
    r"|anfrage(?:\s+(?:fur|nach|um))?|bitte\s+um|demande\s+de|solicitud\s+de|pedido\s+de"
    r"|richiesta\s+di|aanvraag\s+(?:voor|om)|forfragan\s+om|begaran\s+om)"
    r"(?:\s+(?:a|an|the|your|ein|eine|einen|ihr|ihre|un|une|una|uno|um|uma|een|en|ett))?)\s*:?\s*$"
)
_ESIGN_SERVICES = (
    ("DocuSign", r"docusign"),
    ("PandaDoc", r"pandadoc"),
    ("Dropbox Sign", r"hellosign|dropbox\s*sign|sign\.dropbox"),
    ("Adobe Sign", r"adobe\s*(?:acrobat\s*)?sign|adobesign|echosign"),
    ("SignNow", r"signnow"),
    ("Yousign", r"yousign"),
    ("Zoho Sign", r"zoho\s*sign|sign\.zoho"),
    ("Scrive", r"scrive\.com"),
    ("Oneflow", r"oneflow\.com"),
)
_ESIGN_RE = _Guarded(
    re.compile(r"(?<![^\W\d_])(?:" + "|".join(p for _, p in _ESIGN_SERVICES) + r")(?![^\W\d_])"),
    ("sign", "pandadoc", "scrive", "oneflow"),
)
_SIGN_REQUEST_RE = _Guarded(
    re.compile(
        r"(?<![^\W\d_])(?:(?:review|read)\s+and\s+(?:e-?)?sign|please\s+(?:e-?)?sign|countersign"
        r"|sign\s+and\s+return|for\s+(?:your\s+)?signature|unterschreiben|unterzeichnen"
        r"|gegenzeichnen|zur\s+unterschrift|signer|pour\s+signature|bon\s+pour\s+accord"
        r"|firmar(?:lo|la|los|las)?|para\s+(?:su\s+)?firma|ondertekenen|tekenen\s+en\s+retour"
        r"|firmare|controfirmare|per\s+la\s+firma|assinar|para\s+assinatura|skriva\s+under"
        r"|signera|underteckna)(?![^\W\d_])"
    ),
    ("sign", "unterschr", "zeichn", "accord", "firm", "teken", "assina", "skriva", "underteck"),
)
# Bounded repeats: a long run of digit groups ("123 123 123 ...") must not backtrack for ever.
_AMOUNT = r"\d{1,3}(?:[\s.,'’]\d{3}){1,4}(?:[.,]\d{1,2})?|\d{1,12}(?:[.,]\d{1,2})?"
_CODES = r"EUR|USD|GBP|CHF|SEK|NOK|DKK|AUD|CAD|NZD|SGD|JPY|PLN|CZK|INR"
_PRICE_RE = _Guarded(
    re.compile(
        rf"(?<![\w.,])(?:[A-Z]{{0,2}}\$|€|£|¥|(?:(?-i:{_CODES})|kr\.?)(?![^\W\d_]))\s?(?:{_AMOUNT})(?!\d)"
        rf"|(?<![\w.,])(?:{_AMOUNT})\s?(?:€|\$|£|(?:(?-i:{_CODES})|kr|kronor|euros?|dollars?)(?![^\W\d_])"
        r"|:-(?![()DPp]))",
        re.IGNORECASE,
    ),
    ("$", "€", "£", "¥", "kr", "euro", "dollar", ":-", *_CODES.lower().split("|")),
)
_DOCUMENT_TYPES = frozenset(
    {
        "application/pdf",
        "application/msword",
        "application/rtf",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.oasis.opendocument.text",
        "application/vnd.apple.pages",
    }
)
_DOCUMENTS = (".pdf", ".doc", ".docx", ".odt", ".rtf", ".pages")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


class _Folding(dict[int, str]):
    """Per-character lower case without accents, one character for one, so positions in
    the folded text are positions in the original (reasons quote the original words)."""

    def __missing__(self, code: int) -> str:
        char = chr(code)
        lower = char.lower() if len(char.lower()) == 1 else char
        base = "".join(
            c for c in unicodedata.normalize("NFD", lower) if not unicodedata.combining(c)
        )
        folded = base if len(base) == 1 else lower
        self[code] = folded
        return folded


_FOLDING = _Folding()


def _fold(text: str) -> str:
    """Lower case, accents removed, same length: "Orçamento" -> "orcamento"."""
    return text.lower() if text.isascii() else text.translate(_FOLDING)


@dataclass(frozen=True, slots=True)
class _Keywords:
    # One alternation without capturing groups (sre skips a branch that starts with a
    # literal in one step, but not one that starts with a group: ten times faster), then
    # the rare match is labelled by the first row that matches it whole.
    pattern: re.Pattern[str]
    rows: tuple[tuple[re.Pattern[str], str, float], ...]  # (pattern, kind, factor), in order

    needles: tuple[str, ...] | None  # literal pieces one of which every match contains

    def best(self, folded: str) -> tuple[str, float, int, int] | None:
        """The first strong keyword, else the first weak one: (kind, factor, start, end)."""
        # Most text holds no keyword at all; plain substring tests prove that far faster
        # than the big alternation can (it costs ~0.4 µs a character).
        if self.needles is not None and not any(n in folded for n in self.needles):
            return None
        weak: tuple[str, float, int, int] | None = None
        for match in self.pattern.finditer(folded):
            start, end = match.span()
            if _REQUEST_BEFORE.search(folded, max(0, start - 40), start):
                continue
            word = match.group()
            kind, factor = next((k, f) for p, k, f in self.rows if p.fullmatch(word))
            if factor >= STRONG:
                return kind, factor, start, end
            weak = weak or (kind, factor, start, end)
        return weak


@lru_cache(maxsize=16)
def _keywords(extra: tuple[str, ...]) -> _Keywords:
    # The user's own words come first, count as strong "proposal" words, and take the common
    # plural endings ("retainers", "Kostenaufstellungen"). Then strong before weak: where two
    # start at the same place ("proposta comercial", "proposta"), the first alternative wins.
    rows = [
        ("proposal", STRONG, r"\s+".join(map(re.escape, _fold(word).split())) + "(?:s|es|e|en|n)?")
        for word in extra
        if word.strip()
    ]
    rows += [(kind, factor, pattern) for _, kind, factor, pattern in _KEYWORDS]
    rows.sort(key=lambda row: -row[1])  # stable: the table's order within each strength
    alternatives = "|".join(pattern for _, _, pattern in rows)
    return _Keywords(
        re.compile(rf"(?<![^\W\d_])(?:{alternatives})(?![^\W\d_])"),
        tuple((re.compile(pattern), kind, factor) for kind, factor, pattern in rows),
        _needles(pattern for _, _, pattern in rows),
    )


_LEADING_LETTERS = re.compile(r"[a-z]+")


def _needles(patterns: Iterable[str]) -> tuple[str, ...] | None:
    """For each top-level alternative, the letters it must begin with (after a compound
    prefix); None when some alternative has no such literal, so no prefilter is safe."""
    needles: set[str] = set()
    for pattern in patterns:
        for alternative in _top_level_alternatives(pattern.replace(_C, "")):
            letters = _LEADING_LETTERS.match(alternative)
            if letters is None:
                return None
            literal = letters.group()
            if alternative[len(literal) : len(literal) + 1] in ("?", "*", "{"):
                literal = literal[:-1]  # "proposals?": the s is optional
            if len(literal) < 3:
                return None
            needles.add(literal)
    # "contract" already finds every "contracten": keep only the shortest pieces.
    return tuple(sorted(n for n in needles if not any(o != n and o in n for o in needles)))


def _top_level_alternatives(pattern: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for index, char in enumerate(pattern):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            parts.append(pattern[start:index])
            start = index + 1
    parts.append(pattern[start:])
    return parts


# -- the acts: what my own words do ----------------------------------------------------------
# Phrases over folded text (lower case, no accents). Each alternative starts with a literal
# and the letter before a match is checked in Python (`_Phrases`): a leading look-behind
# would make sre try every position of the text, ten times slower.

# I send a document now: "attached is", "here is the", "anbei", "ci-joint", "adjunto"...
_SEND = (
    r"attached|attaching|enclosed|enclosing|please\s+find|here\s+(?:is|are)|here['’]s"
    r"|(?:is|are)\s+below|i\s+am\s+sending|i['’]m\s+sending|we\s+are\s+sending"
    r"|sending\s+you|execution\s+cop(?:y|ies)"
    r"|anbei|im\s+anhang|beigefugt|in\s+der\s+anlage|anliegend|hier\s+(?:ist|sind|kommt)"
    r"|ubersende|ci-?\s?joint|vous\s+trouverez|voici|je\s+vous\s+(?:envoie|transmets)"
    r"|en\s+piece\s+jointe|adjunt(?:o|a|amos)|te\s+envio|le\s+envio|les\s+envio"
    r"|aqui\s+(?:esta|tienes|tiene)|hierbij|bijgaand|in\s+de\s+bijlage|bijgevoegd"
    r"|hier\s+is|in\s+allegato|allego|alleghiamo|ecco|ti\s+invio|vi\s+invio|segue(?:m)?"
    r"|em\s+anexo|envio|aqui\s+esta|bifoga[rtd]|har\s+kommer|har\s+ar|skickar"
)
# I ask the other side to approve or accept: with a price, that is an offer on its own.
_APPROVE = (
    r"let\s+me\s+know\s+if\s+(?:this|these|it|that|they|the\s+\w+)\s+(?:is|are|looks?|works?"
    r"|seems?)\s+(?:acceptable|ok|okay|fine|agreeable|good)"
    r"|(?:is|are)\s+(?:this|these|that|it|they)\s+acceptable|acceptable\s+to\s+you"
    r"|are\s+you\s+ok(?:ay)?\s+(?:with|to)|do\s+you\s+approve|for\s+your\s+approval"
    r"|please\s+approve|einverstanden\?|d['’]accord\s+\?|de\s+acuerdo\?|akkoord\?"
    r"|d['’]accordo\?|de\s+acordo\?|okej\?"
)
# I ask the other side to review, comment on, approve or accept what I send.
_REVIEW = (
    _APPROVE
    + "|"
    + (
        r"for\s+your\s+(?:review|comments?|approval|consideration|execution|signature)"
        r"|for\s+(?:review|comments?)"
        r"|please\s+(?:review|approve|comment|look\s+(?:it|this|them|these)\s+over"
        r"|take\s+a\s+look|have\s+a\s+look)"
        r"|review\s+and\s+(?:comment|approve|let\s+me\s+know)|(?:you|u)\s+to\s+review"
        r"|any\s+(?:comments|concerns)|your\s+(?:comments|concerns|approval)"
        r"|you\s+comments|let\s+me\s+know\s+(?:what\s+you\s+think|your\s+thoughts|if\s+i\s+can\s+send)"
        r"|look\s+(?:it|this|them|these)\s+over|once\s+over|take\s+a\s+look"
        r"|zur\s+(?:durchsicht|prufung|freigabe)|bitte\s+(?:prufen|um\s+(?:freigabe|feedback"
        r"|ruckmeldung))|ihre\s+(?:anmerkungen|ruckmeldung)"
        r"|pour\s+(?:relecture|validation|approbation)|merci\s+de\s+(?:valider|relire)"
        r"|vos\s+(?:commentaires|remarques|retours)"
        r"|para\s+(?:su|tu)\s+(?:revision|aprobacion|visto\s+bueno)|(?:sus|tus)\s+comentarios"
        r"|ter\s+(?:beoordeling|goedkeuring)|graag\s+(?:je|uw)\s+(?:reactie|akkoord|feedback)"
        r"|per\s+(?:la\s+)?(?:revisione|approvazione)|(?:vostri|tuoi)\s+commenti"
        r"|para\s+(?:sua\s+)?(?:revisao|aprovacao)|seus\s+comentarios"
        r"|for\s+(?:granskning|godkannande)|(?:dina|era)\s+synpunkter"
    )
)
# Asking what they think counts only for something I send with it: "your thoughts" alone
# is as often about a meeting or a plan.
_OPINION = (
    r"(?:your|any)\s+(?:thoughts|feedback|input|changes|suggestions)"
    r"|(?:ihre|deine)\s+meinung|votre\s+avis|ton\s+avis|(?:su|tu)\s+opinion"
    r"|(?:uw|je)\s+mening|(?:vostro|tuo)\s+parere|(?:sua|seu)\s+opiniao|(?:din|er)\s+asikt"
)
# I name my terms: a price counts with these.
_OFFER = (
    r"our\s+(?:price|fee|rate|offer|quote|bid)\s+(?:is|would\s+be|will\s+be)"
    r"|(?:we|i)\s+(?:can|could|would|will)\s+(?:offer|quote|do\s+it\s+for)"
    r"|we\s+(?:propose|offer|are\s+offering|are\s+pleased\s+to\s+offer)"
    r"|i\s+(?:propose|offer|would\s+propose)|(?:a|our|my)\s+quote\s+of"
    r"|unser\s+(?:preis|angebot)|wir\s+bieten|nous\s+proposons|notre\s+prix|ofrecemos"
    r"|nuestro\s+precio|wij\s+bieden|onze\s+prijs|offriamo|il\s+nostro\s+prezzo|oferecemos"
    r"|nosso\s+preco|vi\s+erbjuder|vart\s+pris"
)
# I ask for something of theirs, or a question only they can answer: with no act of mine,
# the message waits on them, not they on me.
_ASK = (
    r"(?:please|pls|kindly)\s+(?:send|forward|provide|give|fax|get)\s+(?:me|us)"
    r"|(?:can|could|will|did)\s+(?:you|u)|would\s+you\s+(?:have|send|mind|please|be\s+able)"
    r"|do\s+you\s+(?:have|know|need|get|or)|have\s+you\s+(?:received|signed|sent|had)"
    r"|where\s+(?:is|are)|any\s+(?:sign|news|word|update|progress)"
    r"|is\s+it\s+(?:written|ready|done|signed|finished)|need(?!\s+to(?![^\W\d_]))"
    r"|waiting\s+(?:for|on)\s+(?:your|the|their)|send\s+(?:me|us)\s+(?:your|the|a)"
    r"|konnen\s+sie|konntest\s+du|pourriez-vous|pouvez-vous|podrias|podria\s+usted"
    r"|kunt\s+u|kun\s+je|potresti|potrebbe|poderia|kan\s+du"
)
# Only for their information: a status note, or something already sent elsewhere.
_INFORM = (
    r"fyi|for\s+your\s+(?:information|info|records|files|reference)"
    r"|(?:wanted\s+to|want\s+to|just\s+to|to)\s+let\s+(?:you|everyone|all|everybody)"
    r"|(?:we|i)\s+(?:have\s+|had\s+|just\s+|already\s+|also\s+){0,2}(?:sent|submitted|forwarded)"
    r"|zur\s+kenntnis|pour\s+info|para\s+tu\s+informacion|ter\s+info|per\s+conoscenza"
    r"|para\s+conhecimento|for\s+kannedom"
)


class _Phrases:
    """Whole-word phrases, found fast: a plain alternation of literals, letters around a
    match checked afterwards (see `_Guarded` for why not a look-behind)."""

    __slots__ = ("_pattern",)

    def __init__(self, alternatives: str) -> None:
        self._pattern = re.compile(rf"(?:{alternatives})(?![^\W\d_])")

    def search(self, folded: str) -> re.Match[str] | None:
        for match in self._pattern.finditer(folded):
            start = match.start()
            if start == 0 or not _is_letter(folded[start - 1]):
                return match
        return None


def _is_letter(char: str) -> bool:
    return char.isalpha()


_SEND_RE = _Phrases(_SEND)
_REVIEW_RE = _Phrases(_REVIEW)
_APPROVE_RE = _Phrases(_APPROVE)
_OPINION_RE = _Phrases(_OPINION)
_OFFER_RE = _Phrases(_OFFER)
_ASK_RE = _Phrases(_ASK)
_INFORM_RE = _Phrases(_INFORM)


class _Acts:
    """What my words do, each looked up only when a verdict needs it (most sent mail names
    no document and no price, and never needs these searches)."""

    def __init__(self, folded: str, subject: str, forwarded: bool) -> None:
        self._folded = folded
        self._subject = subject
        self._forwarded = forwarded

    @cached_property
    def sign(self) -> re.Match[str] | None:
        return _SIGN_REQUEST_RE.search(self._folded)

    @cached_property
    def service(self) -> re.Match[str] | None:
        return _ESIGN_RE.search(self._folded) or _ESIGN_RE.search(_fold(self._subject))

    @cached_property
    def review(self) -> re.Match[str] | None:
        found = _REVIEW_RE.search(self._folded)
        if found is None and _SEND_RE.search(self._folded) is not None:
            found = _OPINION_RE.search(self._folded)
        return found

    @cached_property
    def approve(self) -> re.Match[str] | None:
        return _APPROVE_RE.search(self._folded)

    @cached_property
    def offer(self) -> re.Match[str] | None:
        return _OFFER_RE.search(self._folded)

    @cached_property
    def asks_decision(self) -> bool:
        return self.review is not None or self.sign is not None or self.service is not None

    @cached_property
    def send(self) -> re.Match[str] | None:
        if self._forwarded and not self.asks_decision:
            # Forwarding is the sending: someone else's document becomes my proposal only
            # when I ask for a decision on it.
            return None
        return _SEND_RE.search(self._folded)

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
    keywords = _keywords(tuple(extra_keywords))
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
    folded_text = _without_idioms(_fold(text))

    # 2. What my words do (each act looked up only when the verdict needs it).
    acts = _Acts(folded_text, subject, forwarded)

    # 3. The kind of document: attachment names, subject, my text.
    named_kind, subject_kind, text_kind, reply_kind = "", "", "", ""
    invoice = False
    document = ""
    for attachment in facts.attachments:
        name = attachment.filename
        folded_name = _fold(_CAMEL.sub(" ", name.rsplit(".", 1)[0]))
        hit = keywords.best(folded_name)
        if _INVOICE.search(folded_name):
            invoice = True
            verdict.add(0.0, f"not a proposal: attachment {name} is an invoice")
        elif hit is not None and (not forwarded or acts.asks_decision):
            named_kind = named_kind or hit[0]
            verdict.add(0.0, f"attachment {name}")
        elif attachment.content_type in _DOCUMENT_TYPES or name.lower().endswith(_DOCUMENTS):
            document = document or name
    if named_kind:
        verdict.score += _ATTACHMENT

    folded_topic = _without_idioms(_fold(topic))
    found = _INVOICE.search(folded_topic)
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
    elif not kinds and (found := _INVOICE.search(folded_text)) is not None:
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
        name = next(n for n, p in _ESIGN_SERVICES if re.fullmatch(p, service.group()))
        verdict.add(_ESIGN, f"{name} link")
    if (sign := acts.sign) is not None:
        verdict.add(_SIGN_REQUEST, f"asks to sign ({_quoted(text, sign)})")

    # 4. Money and documents: a price is a proposal's only when something is offered or sent.
    price = _PRICE_RE.search(text) or _PRICE_RE.search(subject)
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
        found = _INFORM_RE.search(folded_text)
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
    return _PRICE_RE.search(text[offer.end() : offer.end() + _PRICE_AFTER_OFFER]) is not None


def _add_asking(verdict: _Verdict, text: str, folded: str, subject: str) -> None:
    """My text or subject asks for something of theirs, or asks a question, and I send
    nothing: "Can you send me the executed copy?", "Where is the agreement?"."""
    found = _ASK_RE.search(folded)
    if found is not None:
        verdict.add(
            _ASK_PENALTY, f"not a proposal: asks and sends nothing ({_quoted(text, found)})"
        )
        return
    found = _ASK_RE.search(_fold(subject))
    if found is not None or subject.rstrip().endswith("?"):
        shown = _quoted(subject, found) if found else repr(_one_line(subject))
        verdict.add(_ASK_PENALTY, f"not a proposal: asks and sends nothing ({shown})")


def _same_topic(subject: str, quoted: str) -> bool:
    quoted = strip_prefixes(quoted)[0]
    return bool(subject.strip()) and _fold(_one_line(subject)) == _fold(_one_line(quoted))


def _without_idioms(folded: str) -> str:
    if "accord" in folded or "acuerdo" in folded or "acordo" in folded:
        return _IDIOMS.sub(_blank, folded)
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
