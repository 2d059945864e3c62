"""How I write: the greeting and register I used, and the way I sign my mail.

Pure functions over my own text; no I/O. The suggested follow-up mirrors them: "Hallo Herr
Becker," stays formal German with Sie, "Hola Lucía:" keeps its colon and its tú, and the
follow-up is signed the way I sign my mail to that contact ("Viele Grüße\\nMaya Lindqvist").

- `greeting_of`: the salutation line (the first non-empty line, when it is one) with the
  name as I used it, and the register: pronouns and verb forms of the whole text in that
  language (Sie / du, vous / tu, usted / tú, u / je, Lei / tu, o senhor / você, Ni / du), else
  a title with a family name (formal) or a first name alone (informal).
- `sign_off_of`: the closing line and the name at the end of my words, above the signature
  block, the quoted part and a postscript.
- `SignOffBook`: what I sign with, per contact and per language, recent mail weighing more.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from watcher.analysis.owntext import own_text

__all__ = ["Greeting", "SignOff", "SignOffBook", "greeting_of", "sign_off_of"]


@dataclass(frozen=True, slots=True)
class Greeting:
    """The salutation line of my text and the form of address of the whole text."""

    text: str  # the salutation line exactly as I wrote it, stripped: "Hola Lucía:"; "" if none
    # True: Sie / vous / usted / u / Lei / o senhor / Ni, or a title + family name; False:
    # du / tu / tú / je / você, or a first name only; None: cannot tell.
    formal: bool | None
    name: str  # the name as I used it: "Herr Becker", "Lucía", "Ms Raman"; "" if none


# --- greetings ------------------------------------------------------------------------------


def _words(spaced: str) -> frozenset[str]:
    return frozenset(spaced.casefold().split())


# Salutation words per language, as they open the first line (matched case-insensitively).
_SALUTATIONS = {
    "en": "good morning|good afternoon|good evening|dear|hello|hiya|hi|hey|morning|greetings",
    "de": "sehr geehrte[rs]?|guten morgen|guten tag|guten abend|hallo|liebe[rs]?|hi|hey|moin"
    "|servus|grüß gott|grüezi",
    "fr": "bonjour|bonsoir|chère?s?|salut|coucou|madame|monsieur|mesdames",
    "es": "hola|estimad[oa]s?|buen[oa]s días|buenas tardes|buenas noches|querid[oa]s?"
    "|apreciad[oa]s?",
    "nl": "beste|geachte|hallo|hoi|hey|goedemorgen|goedemiddag|goedenavond|dag|lieve",
    "it": "ciao|gentil(?:issim)?[eio]|gentilissim[oa]|car[oaie]|buongiorno|buonasera|salve"
    "|egregi[oa]",
    "pt": "olá|ola|oi|car[oa]s?|prezad[oa]s?|bom dia|boa tarde|boa noite|estimad[oa]s?"
    "|querid[oa]s?",
    "sv": "hej hej|hejsan|hej|hallå|bästa|kära|god morgon|tjena|tjenare",
}
_ALL_SALUTATIONS = "|".join(_SALUTATIONS.values())
# Titles that make a form of address formal ("Herr Becker", "Ms Raman", "Sra. López").
_TITLES = _words(
    "mr mrs ms miss dr prof sir madam herr frau m mme mlle monsieur madame maître"
    " docteur sr sra srta señor señora don doña dra heer mevrouw meneer mevr dhr sig sig.ra"
    " sig.na signor signora dott dott.ssa ing avv senhor senhora dona fru"
    # and the words of a form of address to nobody in particular ("Damen und Herren")
    " damen herren ladies gentlemen messieurs señores señoras dames heren signori signore"
)
_PARTICLES = {"van", "von", "de", "der", "den", "da", "di", "del", "la", "le", "du", "dos", "ter"}
_JOINERS = {"and", "or", "und", "oder", "et", "ou", "y", "o", "e", "en", "of", "och", "eller", "&"}
# Not a name though capitalised, when a line is only "<word>," ("Thanks," is not "Dear X,").
_NOT_NAMES = _words(
    "thanks thank yes no ok okay sorry sure great agreed fyi hi hello all everyone"
    " team folks guys danke ja nein super merci oui non gracias sí vale bedankt ja nee grazie"
    " obrigado obrigada tack nej perfekt toppen"
)
_NAME_TOKEN = re.compile(r"[A-ZÀ-ÞĀ-Ž][\w'’.-]*|[A-Z]\.", re.UNICODE)

# Register markers per language: (formal, informal). Case matters where noted: German "Sie",
# Italian "Lei" and Swedish "Ni" are formal only capitalised inside a sentence.
_MID = r"(?<![.!?:]\s)(?<![.!?:]\s\s)(?<!^)(?<!\n)"
_REGISTER: dict[str, tuple[str, str]] = {
    "de": (
        rf"{_MID}\b(?:Sie|Ihnen|Ihr|Ihre[mnrs]?)\b|(?i:\bIhnen\b)",
        r"(?i:\b(?:du|dich|dir|dein|deine[mnrs]?|euch|euer|eure[mnrs]?)\b)",
    ),
    "fr": (r"(?i:\b(?:vous|votre|vos)\b)", r"(?i:\b(?:tu|toi|ton|ta|tes|te|t['’]))(?=\W)"),
    "es": (
        r"(?i:\b(?:usted|ustedes)\b|\ble (?:adjunto|envío|escribo|agradezco|recuerdo)\b"
        r"|\bno dude\b|\bsu (?:entera )?disposición\b)",
        r"(?i:\b(?:tú|tu|tus|te|ti|contigo)\b|\b(?:tienes|puedes|quieres|sabes|necesitas"
        r"|prefieres|estás|avísame|dime|escríbeme)\b)",
    ),
    "nl": (r"(?i:\b(?:u|uw)\b)", r"(?i:\b(?:je|jij|jou|jouw)\b)"),
    "it": (
        rf"{_MID}\b(?:Lei|La|Le|Suo|Sua|Suoi|Sue)\b|(?i:\ble (?:invio|scrivo|allego)\b"
        r"|\bla ringrazio\b|\bmi faccia sapere\b|\btrova in allegato\b)",
        r"(?i:\b(?:tu|ti|te|tuo|tua|tuoi|tue)\b|\bfammi sapere\b|\btrovi\b)",
    ),
    "pt": (
        r"(?i:\b(?:o senhor|a senhora|os senhores|as senhoras|vossa senhoria)\b)",
        r"(?i:\b(?:você|vocês|tu|te|teu|tua|teus|tuas|contigo)\b)",
    ),
    "sv": (rf"{_MID}\b(?:Ni|Er|Ert|Era)\b", r"(?i:\b(?:du|dig|din|ditt|dina)\b)"),
}
_REGISTER_RE = {
    language: (re.compile(formal, re.MULTILINE), re.compile(informal, re.MULTILINE))
    for language, (formal, informal) in _REGISTER.items()
}


def greeting_of(text: str, language: str) -> Greeting:
    """The salutation of my own text (the first non-empty line, when it is one) and the register
    of the whole text (pronouns and verb forms, in that language)."""
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    salutation, name = _salutation(first, language)
    return Greeting(salutation, _register(text, language, salutation, name), name)


def _salutation(line: str, language: str) -> tuple[str, str]:
    """(the salutation as written, the name in it) of a first line; ("", "") if none."""
    words = _SALUTATIONS.get(language, _ALL_SALUTATIONS)
    for pattern in (words, _ALL_SALUTATIONS):
        found = re.match(rf"(?i:{pattern})(?![\w])", line)
        if found:
            return _after_salutation_word(line, found.end())
    # A name alone ("Kevin," "Herr Becker:") is a salutation too.
    head = re.match(r"([^,:;!?]{1,40}?)[ \t]*(?:[,:!]|[ \t]+-)[ \t]*$", line)
    if head and _is_name(head.group(1)) and head.group(1).casefold() not in _NOT_NAMES:
        return line, head.group(1).strip()
    return "", ""


def _after_salutation_word(line: str, end: int) -> tuple[str, str]:
    rest = re.match(r"[ \t]*,?[ \t]*([^,:;!?\n]{0,60}?)[ \t]*([,:;!]+|$)", line[end:])
    if rest is not None:
        words, punctuation = rest.group(1).strip(), rest.group(2)
        stop = end + rest.end()
        if not words:
            return line[:stop].strip(), ""
        if _is_name(words):
            start_title = line[:end].strip().casefold() in _TITLES  # "Madame Martin,"
            name = f"{line[:end].strip()} {words}" if start_title else words
            return line[:stop].strip(), _unless_title_only(name)
        if len(words.split()) <= 3 and words == words.lower() and punctuation:
            return line[:stop].strip(), ""  # "Hi there," "Hallo zusammen," "Hola a todos:"
    # The salutation word alone, then my first sentence: "Hi, I wanted to ask ..."
    alone = re.match(r"[ \t]*[,:!]", line[end:])
    return (line[: end + alone.end()].strip(), "") if alone else (line[:end].strip(), "")


def _is_name(words: str) -> bool:
    tokens = words.replace(",", " ").split()
    if not 1 <= len(tokens) <= 5 or any(ch.isdigit() for ch in words):
        return False
    if tokens[0].casefold() in _JOINERS or tokens[-1].casefold() in _JOINERS | _PARTICLES:
        return False
    return all(
        token.casefold() in _TITLES
        or token.casefold().rstrip(".") in _TITLES | _PARTICLES | _JOINERS
        or _NAME_TOKEN.fullmatch(token) is not None
        for token in tokens
    )


def _unless_title_only(name: str) -> str:
    """ "" for a form of address that names nobody: "Madame", "Sir or Madam"."""
    tokens = [t.casefold().rstrip(".") for t in name.split()]
    titles_only = all(t in _TITLES or t in _JOINERS for t in tokens)
    return "" if titles_only else name


def _has_title(name: str) -> bool:
    return any(token.casefold().rstrip(".") in _TITLES for token in name.split()[:-1])


def _register(text: str, language: str, salutation: str, name: str) -> bool | None:
    formal = informal = 0.0
    markers = _REGISTER_RE.get(language)
    if markers is not None:
        formal = len(markers[0].findall(text))
        informal = len(markers[1].findall(text))
    if _has_title(name) or (not name and _names_a_title(salutation)):
        formal += 2  # "Herr Becker", "Dear Sir or Madam", "Madame,"
    elif name:
        informal += 0.5  # a first name: informal unless the pronouns say otherwise
    if formal == informal:
        return None
    return formal > informal


def _names_a_title(salutation: str) -> bool:
    return any(word.strip(",:;!").casefold() in _TITLES for word in salutation.split())


# --- sign-offs ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SignOff:
    """The closing line and the name under it at the end of a message I wrote."""

    closing: str  # "Best," "Viele Grüße" "Cordialement," "Un saludo," ; "" when only a name
    name: str  # "Maya" / "Maya Lindqvist" / "/M" ; "" when only a closing


# Closings per language, as regex alternatives (matched case-insensitively). A line is a
# closing when it is one of these, or one followed by up to three words ("Viele Grüße aus
# Hamburg", "Hugs back at you").
_CLOSINGS = {
    "en": "best(?: regards| wishes)?|(?:kind|warm|warmest) regards|regards|all the best|all best"
    "|many thanks|thanks(?: again| so much| in advance| and (?:take care|regards))?|thank you"
    "|thx|cheers|(?:yours )?sincerely(?: yours)?|yours(?: truly)?|take care|talk soon"
    "|speak soon|love|hugs|with thanks|rgds|respectfully",
    "de": "(?:viele|beste|liebe|herzliche|freundliche|schöne|sonnige) grü(?:ß|ss)e"
    "|mit freundlichen grü(?:ß|ss)en|gruß|grüße|lg|vg|mfg|danke|vielen dank|bis bald"
    "|herzlichst",
    "fr": "(?:bien |très )?cordialement|bien à (?:vous|toi)|(?:bonne|belle) journée"
    "|merci(?: beaucoup)?|à bientôt|amicalement|bises|(?:sincères |meilleures )?salutations"
    "|au plaisir",
    "es": "un (?:cordial )?saludo|saludos(?: cordiales)?|un (?:fuerte )?abrazo|abrazos"
    "|atentamente|cordialmente|(?:muchas )?gracias|besos|hasta pronto",
    "nl": "(?:met )?vriendelijke groet(?:en)?|groet(?:en|jes)?|hartelijke groet(?:en)?|mvg"
    "|tot snel|dank je wel|(?:alvast )?bedankt|hartelijk dank",
    "it": "(?:cordiali|distinti) saluti|saluti|un (?:caro )?saluto|a presto|un abbraccio"
    "|grazie(?: mille)?|buona giornata",
    "pt": "atenciosamente|(?:um )?abraço|abraços|(?:melhores )?cumprimentos|obrigad[oa]"
    "|beijos|bjs|saudações|até breve|att",
    "sv": "(?:med )?vänliga hälsningar|mvh|(?:bästa |varma )?hälsningar|kram(?:ar)?"
    "|tack(?: på förhand| så mycket)?|ha det bra|(?:vi )?hörs|allt gott",
}
_CLOSING_WORDS = (
    r"(?i:(?:" + "|".join(_CLOSINGS.values()) + r"))(?![\w])(?:[ \t]+[^\W\d][\w'’-]*){0,3}"
)
_CLOSING = re.compile(rf"(?P<closing>{_CLOSING_WORDS}[ \t]*[,!.]?)")
# "Thanks, Kim." "Thanks and take care.  Kim." at the end of my last line.
_INLINE_CLOSING = re.compile(
    rf"(?:^|(?<=[.!?])[ \t]+)(?P<closing>{_CLOSING_WORDS}[,.!]?)"
    r"[ \t]+(?P<name>[^\s,.]{1,20}(?:[ \t][^\s,.]{1,20})?)\.?$"
)
_SENT_FROM = re.compile(r"(?i)^(?:sent from my |envoyé de mon |von meinem |enviado desde mi )")
_RULE = re.compile(r"^[-_=*~]{5,}$")
_POSTSCRIPT = re.compile(r"(?i)^p\.?\s?p?\.?\s?s\b")
_DASH_NAME = re.compile(r"^(?:--?|–|—)[ \t]*(?P<name>\S.{0,40})$")
_INITIALS = re.compile(r"^/?[A-ZÀ-Þ]{1,3}\.?$|^/[A-Za-zÀ-þ]{1,3}$")
_SIGNATURE_BLOCK_LINES = 8


def sign_off_of(text: str, my_names: Sequence[str] = ()) -> SignOff | None:
    """The closing and the name at the end of one message I wrote (before the signature block
    / the quoted part), or None when it has none. `my_names`: display names I send under.

    With `my_names`, a name alone (no closing above it) counts only when it is one of mine
    (the full name, a part of it, its initials): without them, a line of data ("Sean Crandall")
    at the end would pass for a signature."""
    lines = _my_last_lines(own_text(text))
    names = _Names(my_names)
    # A sign-off closes something: a message that is only "Thanks!" or a signature has none.
    first = next((i for i, line in enumerate(lines) if line), len(lines))
    for index in range(len(lines) - 1, max(first, len(lines) - 1 - _SIGNATURE_BLOCK_LINES), -1):
        found = _closing_at(lines, index, names)
        if found is not None:
            return found
        if lines[index] and _is_prose(lines[index]):
            break
    return _name_alone(lines[first:], names)


class _Names:
    """My display names, to tell my name from other capitalised lines."""

    def __init__(self, my_names: Iterable[str]) -> None:
        self.full = {n.strip().casefold() for n in my_names if n.strip()}
        self.parts = {p for n in self.full for p in n.replace(",", " ").split()}
        self.initials = {"".join(p[0] for p in n.split()) for n in self.full}

    def mine(self, line: str) -> bool:
        folded = line.strip().rstrip(".").lstrip("/").casefold()
        if not folded:
            return False
        if folded in self.full or all(part in self.parts for part in folded.split()):
            return True
        first_letters = folded.replace(".", "").replace(" ", "")
        prefix = any(p.startswith(folded) and len(folded) >= 3 for p in self.parts)  # Kim
        return (
            prefix
            or first_letters in self.initials
            or any(first_letters == i[:1] for i in self.initials)
        )

    def __bool__(self) -> bool:
        return bool(self.full)


def _my_last_lines(own: str) -> list[str]:
    """My words' lines, stripped, without a phone's footer and a postscript at the end."""
    lines = [line.strip() for line in own.splitlines()]
    cut = len(lines)
    for index, line in enumerate(lines):
        if _SENT_FROM.match(line) or (_RULE.match(line) and index >= len(lines) - 3):
            cut = min(cut, index)
            break
    for index in range(max(0, cut - 12), cut):
        if _POSTSCRIPT.match(lines[index]) and index > 0:
            cut = index
            break
    lines = lines[:cut]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def _closing_at(lines: list[str], index: int, names: _Names) -> SignOff | None:
    line = lines[index]
    match = _CLOSING.fullmatch(line) or _inline_closing(line, names)
    if match is None:
        return None
    closing = match.group("closing").strip()
    inline = (match.groupdict().get("name") or "").strip()
    if inline:
        return SignOff(closing, inline) if _only_signature_after(lines, index + 1) else None
    after = [i for i in range(index + 1, min(len(lines), index + 3)) if lines[i]]
    name_below = after and _looks_like_my_name(lines[after[0]], names)
    if name_below and _only_signature_after(lines, after[0] + 1):
        return SignOff(closing, _name_of(lines[after[0]]))
    if _only_signature_after(lines, index + 1):
        return SignOff(closing, "")
    return None


def _inline_closing(line: str, names: _Names) -> re.Match[str] | None:
    found = _INLINE_CLOSING.search(line)
    # "Thank you, Evelyn." thanks someone else: with my names known, the name must be mine.
    name = "" if found is None else found.group("name")
    if found is None or not (names.mine(name) if names else _looks_like_my_name(name, names)):
        return None
    return found


def _looks_like_my_name(line: str, names: _Names) -> bool:
    if names and names.mine(line):
        return True
    if _INITIALS.match(line) or _DASH_NAME.match(line):
        return True
    return _is_name(line.rstrip(".")) and line.casefold() not in _NOT_NAMES and len(line) <= 40


def _name_of(line: str) -> str:
    dash = _DASH_NAME.match(line)
    return (
        (dash.group("name") if dash else line).strip().rstrip(".")
        if not line.startswith("/")
        else line
    )


def _only_signature_after(lines: list[str], start: int) -> bool:
    rest = [line for line in lines[start:] if line]
    return len(rest) <= _SIGNATURE_BLOCK_LINES and not any(_is_prose(line) for line in rest)


def _is_prose(line: str) -> bool:
    """A sentence of mine, not a name, closing or signature line (title, phone, address)."""
    if re.search(r"@|https?://|www\.|\||\+?\d[\d ()/.-]{6,}", line):
        return False
    words = line.split()
    if len(words) > 8:
        return True
    one_name = len(words) == 1 and _is_name(line[:-1]) and line[:-1].casefold() not in _NOT_NAMES
    return line[-1] in ".?!:;" and not one_name  # "Yes." is a sentence, "Kim." a name


def _name_alone(lines: list[str], names: _Names) -> SignOff | None:
    """The name under my last sentence, with no closing: "Kate", "/M", "-- Maya"."""
    block: list[str] = []
    for line in reversed(lines):
        if line and _is_prose(line):
            break
        block.insert(0, line)
    candidates = [line for line in block if line][:2] if len(block) < len(lines) else []
    for line in candidates:
        dash = _DASH_NAME.match(line)
        bare = dash.group("name") if dash else line
        mine = names.mine(bare) if names else _looks_like_my_name(line, names)
        if mine and _only_signature_after(lines, lines.index(line) + 1):
            return SignOff("", _name_of(line))
    return None


# --- what I sign with -----------------------------------------------------------------------

HALF_LIFE_DAYS = 90  # a sign-off from three months ago counts half as much as today's


class SignOffBook:
    """What I sign with: per contact address, and per language.

    Each sign-off counts with a weight that halves every `HALF_LIFE_DAYS` before the newest
    one added (no clock needed: the newest message is "now"), so a habit I changed last month
    wins over years of the old one."""

    def __init__(self) -> None:
        self._seen: list[tuple[str, str, SignOff, int]] = []

    def add(self, contact: str, language: str, sign_off: SignOff, when: int) -> None:
        """Record that I signed a message to `contact` in `language` at `when` (epoch seconds)."""
        self._seen.append((contact.strip().casefold(), language, sign_off, when))

    def best(self, contact: str, language: str) -> SignOff | None:
        """The closing and name I use most with this contact in this language; else with this
        contact at all (the name I use with them, under the closing I use most in that
        language when I have one: no English "Best," under a German text); else the one I use
        most in my recent mail in that language; None if nothing."""
        contact = contact.strip().casefold()
        with_contact = [(s, w) for c, _, s, w in self._seen if c == contact]
        in_language = [(s, w) for _, lang, s, w in self._seen if lang == language]
        both = [(s, w) for c, lang, s, w in self._seen if c == contact and lang == language]
        if both:
            return self._most(both)
        if with_contact:
            mine = self._most(with_contact)
            usual = self._most(in_language)
            if usual is not None and mine is not None and usual.closing:
                return SignOff(usual.closing, mine.name or usual.name)
            return mine
        return self._most(in_language)

    def _most(self, seen: list[tuple[SignOff, int]]) -> SignOff | None:
        if not seen:
            return None
        newest = max(entry[3] for entry in self._seen)
        weights: dict[SignOff, float] = defaultdict(float)
        latest: dict[SignOff, int] = {}
        for sign_off, when in seen:
            weights[sign_off] += 0.5 ** ((newest - when) / (HALF_LIFE_DAYS * 86_400))
            latest[sign_off] = max(latest.get(sign_off, when), when)
        return max(weights, key=lambda s: (round(weights[s], 9), latest[s]))
