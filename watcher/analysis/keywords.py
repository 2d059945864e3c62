"""The words a proposal is recognised by: keyword tables per language, and the phrases of
what my own words do (send, ask for review, offer, ask, inform), invoices, e-signature
services, requests to sign, prices. Scored by `proposals.classify_sent`.

All matched over *folded* text (`fold`: lower case, accents removed, same length, so that
positions in the folded text are positions in the original and reasons quote the original
words). Patterns are built so that most text is ruled out by plain substring tests before
any regex runs (`_Guarded`, `_Keywords.needles`, `_Phrases`): this runs on every message I
sent.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

__all__ = [
    "APPROVE_RE",
    "ASK_RE",
    "CAMEL",
    "DOCUMENTS",
    "DOCUMENT_TYPES",
    "ESIGN_RE",
    "ESIGN_SERVICES",
    "IDIOMS",
    "INFORM_RE",
    "INVOICE",
    "OFFER_RE",
    "OPINION_RE",
    "PRICE_RE",
    "REVIEW_RE",
    "SEND_RE",
    "SIGN_REQUEST_RE",
    "STRONG",
    "WEAK",
    "fold",
    "keywords_with",
]

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
    ("fr", "agreement", WEAK, r"accords?"),  # "d'accord" is blanked first, see IDIOMS
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
INVOICE = _Guarded(
    re.compile(
        r"(?<![^\W\d_])(?:invoices?|credit\s+notes?|(?:schluss|abschlags|teil)?rechnung(?:en)?"
        r"|gutschrift|factures?|facturas?|factuur|facturen|fattura|fatture|faturas?"
        r"|faktura(?:n|or|orna)?)(?![^\W\d_])"
    ),
    ("invoice", "credit", "rechnung", "gutschrift", "factu", "fattur", "fatur", "faktur"),
)
# Idioms that contain an agreement word but mean "OK": blanked before keyword matching.
IDIOMS = re.compile(r"\bd['’]\s?accord[oi]?\b|\bde\s+(?:acuerdo|acordo)\b")
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
ESIGN_SERVICES = (
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
ESIGN_RE = _Guarded(
    re.compile(r"(?<![^\W\d_])(?:" + "|".join(p for _, p in ESIGN_SERVICES) + r")(?![^\W\d_])"),
    ("sign", "pandadoc", "scrive", "oneflow"),
)
SIGN_REQUEST_RE = _Guarded(
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
PRICE_RE = _Guarded(
    re.compile(
        rf"(?<![\w.,])(?:[A-Z]{{0,2}}\$|€|£|¥|(?:(?-i:{_CODES})|kr\.?)(?![^\W\d_]))\s?(?:{_AMOUNT})(?!\d)"
        rf"|(?<![\w.,])(?:{_AMOUNT})\s?(?:€|\$|£|(?:(?-i:{_CODES})|kr|kronor|euros?|dollars?)(?![^\W\d_])"
        r"|:-(?![()DPp]))",
        re.IGNORECASE,
    ),
    ("$", "€", "£", "¥", "kr", "euro", "dollar", ":-", *_CODES.lower().split("|")),
)
DOCUMENT_TYPES = frozenset(
    {
        "application/pdf",
        "application/msword",
        "application/rtf",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.oasis.opendocument.text",
        "application/vnd.apple.pages",
    }
)
DOCUMENTS = (".pdf", ".doc", ".docx", ".odt", ".rtf", ".pages")
CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


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


def fold(text: str) -> str:
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
def keywords_with(extra: tuple[str, ...]) -> _Keywords:
    # The user's own words come first, count as strong "proposal" words, and take the common
    # plural endings ("retainers", "Kostenaufstellungen"). Then strong before weak: where two
    # start at the same place ("proposta comercial", "proposta"), the first alternative wins.
    rows = [
        ("proposal", STRONG, r"\s+".join(map(re.escape, fold(word).split())) + "(?:s|es|e|en|n)?")
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


SEND_RE = _Phrases(_SEND)
REVIEW_RE = _Phrases(_REVIEW)
APPROVE_RE = _Phrases(_APPROVE)
OPINION_RE = _Phrases(_OPINION)
OFFER_RE = _Phrases(_OFFER)
ASK_RE = _Phrases(_ASK)
INFORM_RE = _Phrases(_INFORM)
