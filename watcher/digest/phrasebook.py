"""The built-in texts of the suggested follow-ups, one phrasebook per language.

Each language's texts and words are data, `suggestions/<language>.toml` (shipped with the
package), written by a fluent speaker's standard: the four situations in each register the
language has (formal and informal; English and Swedish have one, `[texts]`), the greetings to
use when I wrote none, the phrase naming my latest follow-up, the reminders' offers, the
default closing, the Babel pattern of a date and the nouns for what was sent. `digest.suggest`
fills them in. Read once, at import, and checked: a file that misses a text fails the import
(and the tests), not a digest.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources

from babel import Locale

from watcher.analysis.language import LANGUAGES
from watcher.config.digest import TEMPLATE_NAMES

# What was sent, as the classifier names it ("message": anything else).
KINDS = ("proposal", "quote", "estimate", "offer", "contract", "agreement", "message")
_REGISTER_KEYS = (
    *("hello_named", "hello", "noted", *TEMPLATE_NAMES),
    *("offer_changes", "offer_terms", "offer_scope", "offer_timing"),
)


@dataclass(frozen=True, slots=True)
class Phrasebook:
    """One language's built-in texts and words (`suggestions/<language>.toml`)."""

    language: str  # ISO 639-1: "de"
    name: str  # in English, for messages: "German"
    closing: str  # the default sign-off: "Viele Grüße"
    date: str  # Babel pattern of a day: "d. MMMM"
    call_days: str  # "{0} oder {1}"
    nouns: Mapping[str, str]  # kind -> "Angebot"
    the: Mapping[str, str]  # kind -> "das Angebot" (the object of "I sent you ...")
    about: Mapping[str, str]  # "documents" / "subject" -> "{the} ({documents})"
    formal: Mapping[str, str]  # the texts in the formal register (or the only one)
    informal: Mapping[str, str]  # the same in the informal register (or the only one)
    lower_after_comma: bool = False  # German: "Hallo Jonas,\n\nam 28. November ..."
    first_day: str = ""  # how the 1st is written where it is not "1": "1er"

    @property
    def registers(self) -> bool:
        return self.formal is not self.informal


def _load(language: str) -> Phrasebook:
    """The phrasebook of `language`, checked: every text of every register, every kind."""
    path = resources.files("watcher.digest") / "suggestions" / f"{language}.toml"
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    texts = data.get("texts")
    formal, informal = (texts, texts) if texts else (data["formal"], data["informal"])
    for register in (formal, informal):
        missing = [key for key in _REGISTER_KEYS if key not in register]
        if missing:
            raise ValueError(f"suggestions/{language}.toml misses {', '.join(missing)}")
    for table in ("nouns", "the"):
        if set(data[table]) != set(KINDS):
            raise ValueError(f"suggestions/{language}.toml [{table}] must name {KINDS}")
    return Phrasebook(
        language=language,
        name=data["name"],
        closing=data["closing"],
        date=data["date"],
        call_days=data["call_days"],
        nouns=data["nouns"],
        the=data["the"],
        about=data["about"],
        formal=formal,
        informal=informal,
        lower_after_comma=data.get("lower_after_comma", False),
        first_day=data.get("first_day", ""),
    )


PHRASEBOOKS: Mapping[str, Phrasebook] = {language: _load(language) for language in LANGUAGES}


def text_language(language: str) -> str:
    """The language the suggestion is written in: the thread's, else English."""
    return language if language in PHRASEBOOKS else "en"


def language_note(language: str) -> str:
    """What `watcher thread` says about the language of a thread's suggestion."""
    if language in PHRASEBOOKS:
        return f"suggestion in {PHRASEBOOKS[language].name}, the thread's language"
    told = Locale.parse(language).english_name if _known_locale(language) else "not recognised"
    return f"suggestion in English: the thread's language ({told}) is not one the texts know"


def _known_locale(language: str) -> bool:
    try:
        Locale.parse(language)
    except (ValueError, TypeError, LookupError):  # "", "xx": babel's UnknownLocaleError
        return False
    return True
