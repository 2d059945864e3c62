"""What the user can decide about a thread from the digest, and the words for it.

An `Action` is one decision: done, mute, not a proposal, or snooze (for some days, or until a
day). The same grammar serves the digest's one-tap links, the lines of a reply to the digest
("2 done", "3 snooze 1w", "4 +4d", "mute 5", "1 snooze until 2026-12-14") and the CLI's
`--snooze 1w` / `--snooze-until monday`. Words are accepted in the languages detection knows,
where the word is short and unambiguous; English always works.

Pure: text in, an `Action` (or a one-line reason why not) out.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace
from datetime import date, timedelta

from watcher.model import Override

DONE = "done"
MUTE = "mute"
NOT_A_PROPOSAL = "not a proposal"
SNOOZE = "snooze"
KINDS = (DONE, MUTE, NOT_A_PROPOSAL, SNOOZE)
# The snoozes the digest offers as one-tap links.
SNOOZE_CHOICES = (3, 7, 14)
MAX_SNOOZE_DAYS = 366

# The words of each action, folded (lower case, no accents), by language: en, de, fr, es, nl,
# it, pt, sv. Phrases are matched as whole words at the start of the action text.
_WORDS: dict[str, tuple[str, ...]] = {
    DONE: (
        *("done", "handled", "settled", "closed"),
        *("erledigt", "fertig"),
        *("fait", "termine", "regle"),
        *("hecho", "listo", "resuelto"),
        *("gedaan", "klaar", "afgehandeld"),
        *("fatto", "risolto"),
        *("feito", "resolvido"),
        *("klar", "klart", "fixat"),
    ),
    MUTE: (
        *("mute", "stop", "unfollow", "ignore"),
        *("stumm", "ignorieren"),
        *("muet", "ignorer", "silence"),
        *("silenciar", "ignorar"),
        *("dempen", "negeren"),
        *("silenzia", "ignora"),
        *("silenciar", "ignorar"),
        *("tysta", "ignorera"),
    ),
    NOT_A_PROPOSAL: (
        *("not a proposal", "not proposal", "no proposal", "not-a-proposal"),
        *("kein angebot", "keine offerte"),
        *("pas une proposition", "pas une offre", "pas un devis"),
        *("no es una propuesta", "no es una oferta", "no propuesta"),
        *("geen offerte", "geen voorstel"),
        *("non e una proposta", "non e un'offerta", "non e un offerta"),
        *("nao e uma proposta", "nao e uma oferta"),
        *("inget forslag", "ingen offert"),
    ),
    SNOOZE: (
        *("snooze", "later", "remind"),
        *("spater", "schlummern", "erinnern"),
        *("reporter", "rappel", "plus tard"),
        *("posponer", "aplazar", "mas tarde"),
        *("uitstellen", "sluimer"),
        *("rimanda", "posticipa", "piu tardi"),
        *("adiar", "mais tarde"),
        *("skjut upp", "senare", "snooza"),
    ),
}
_UNTIL: tuple[str, ...] = (
    "until",
    "till",
    "bis",
    "jusqu'au",
    "jusqu'a",
    "jusqu au",
    "hasta",
    "tot",
    "fino al",
)
_UNTIL += ("ate", "fram till", "to")
# Day and week units: "7d", "1w", "2 weeks", "3 Tage", "2 semaines", "1 settimana", ...
_DAY_UNITS: tuple[str, ...] = (
    "d",
    "day",
    "days",
    "t",
    "tag",
    "tage",
    "tagen",
    "j",
    "jour",
    "jours",
    "dia",
)
_DAY_UNITS += ("dias", "dag", "dagen", "dagar", "g", "giorno", "giorni")
_WEEK_UNITS: tuple[str, ...] = (
    "w",
    "wk",
    "week",
    "weeks",
    "woche",
    "wochen",
    "s",
    "sem",
    "semaine",
)
_WEEK_UNITS += ("semaines", "semana", "semanas", "weken", "settimana", "settimane", "v", "vecka")
_WEEK_UNITS += ("veckor",)
_DURATION = re.compile(r"\+?\s*(\d{1,3})\s*([a-z']+)?")
_WEEKDAYS: tuple[tuple[str, ...], ...] = (
    ("monday", "mon", "montag", "lundi", "lunes", "maandag", "lunedi", "segunda", "mandag"),
    ("tuesday", "tue", "dienstag", "mardi", "martes", "dinsdag", "martedi", "terca", "tisdag"),
    (
        "wednesday",
        "wed",
        "mittwoch",
        "mercredi",
        "miercoles",
        "woensdag",
        "mercoledi",
        "quarta",
        "onsdag",
    ),
    (
        "thursday",
        "thu",
        "donnerstag",
        "jeudi",
        "jueves",
        "donderdag",
        "giovedi",
        "quinta",
        "torsdag",
    ),
    ("friday", "fri", "freitag", "vendredi", "viernes", "vrijdag", "venerdi", "sexta", "fredag"),
    ("saturday", "sat", "samstag", "samedi", "sabado", "zaterdag", "lordag"),
    ("sunday", "sun", "sonntag", "dimanche", "domingo", "zondag", "domenica", "sondag"),
)
_TOMORROW = ("tomorrow", "morgen", "demain", "manana", "domani", "amanha", "imorgon")
_NEXT_WEEK: tuple[str, ...] = ("next week", "nachste woche", "semaine prochaine", "proxima semana")
_NEXT_WEEK += ("volgende week", "prossima settimana", "nasta vecka")


@dataclass(frozen=True, slots=True)
class Action:
    """One decision about a thread. A snooze has `days` (counted from the day it is given) or
    `until` (a day, or a weekday/"tomorrow" resolved against the day it is given)."""

    kind: str
    days: int | None = None
    until: date | None = None
    weekday: int | None = None  # 0 = Monday: "until monday", resolved by `snooze_until`

    @property
    def text(self) -> str:
        """The canonical words, as the one-tap links write them ("snooze 7d")."""
        if self.kind != SNOOZE:
            return self.kind
        if self.until is not None:
            return f"snooze until {self.until.isoformat()}"
        if self.weekday is not None:
            return f"snooze until {_WEEKDAYS[self.weekday][0]}"
        return f"snooze {self.days}d"

    def snooze_until(self, given_on: date) -> date | None:
        """The day a snooze ends, for a command given on `given_on`; None for other actions."""
        if self.kind != SNOOZE:
            return None
        if self.until is not None:
            return self.until
        if self.weekday is not None:
            ahead = (self.weekday - given_on.weekday() - 1) % 7 + 1  # next one, never today
            return given_on + timedelta(days=ahead)
        return given_on + timedelta(days=self.days or 0)

    def applied_to(self, current: Override, given_on: date) -> Override:
        """`current` with this decision taken (a later snooze replaces an earlier one)."""
        if self.kind == DONE:
            return replace(current, done=True)
        if self.kind == MUTE:
            return replace(current, muted=True)
        if self.kind == NOT_A_PROPOSAL:
            return replace(current, track=False)
        return replace(current, snooze_until=self.snooze_until(given_on))


class ActionError(ValueError):
    """Text that is not an action; the message says why in words for the user."""


def fold(text: str) -> str:
    """Lower case without accents or extra spaces: "Später" and "spater" read the same."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.replace("’", "'").split())


def parse_action(text: str) -> Action:
    """ "done", "mute", "not a proposal", "snooze 7d", "+4d", "snooze until 2026-12-14",
    "later until friday", "erledigt", "später 2w" ... as an Action; ActionError otherwise."""
    words = fold(text).strip(" .!,;:")
    if not words:
        raise ActionError("no action given")
    if _DURATION.fullmatch(words) and words.startswith("+"):
        return _snooze(words)
    for kind in (NOT_A_PROPOSAL, DONE, MUTE, SNOOZE):  # the phrase first: "not ... " vs "no"
        for word in sorted(_WORDS[kind], key=len, reverse=True):
            if words == word or words.startswith(word + " "):
                rest = words[len(word) :].strip()
                if kind != SNOOZE:
                    if rest:
                        raise ActionError(f"{kind!r} takes nothing after it")
                    return Action(kind)
                return _snooze(rest)
    raise ActionError("is not an action; use done, snooze 3d/1w/2w, mute or not a proposal")


def parse_snooze(text: str) -> Action:
    """What follows "snooze": "7d", "1w", "+4d", "until 2026-12-14", "until monday", "monday"."""
    return _snooze(fold(text))


def _snooze(rest: str) -> Action:
    if not rest:
        return Action(SNOOZE, days=7)  # a bare "snooze" is a week, like the middle link
    for word in sorted(_UNTIL, key=len, reverse=True):
        if rest.startswith(word + " "):
            return _snooze_until(rest[len(word) :].strip())
    match = _DURATION.fullmatch(rest)
    if match:
        count, unit = int(match.group(1)), (match.group(2) or "d")
        if unit in _WEEK_UNITS:
            count *= 7
        elif unit not in _DAY_UNITS:
            raise ActionError(f"{rest!r}: give days or weeks, e.g. 3d, 1w or 2w")
        if not 1 <= count <= MAX_SNOOZE_DAYS:
            raise ActionError(f"{rest!r}: snooze between 1 day and a year")
        return Action(SNOOZE, days=count)
    return _snooze_until(rest)


def _snooze_until(text: str) -> Action:
    try:
        return Action(SNOOZE, until=date.fromisoformat(text))
    except ValueError:
        pass
    if text in _TOMORROW:
        return Action(SNOOZE, days=1)
    if text in _NEXT_WEEK:
        return Action(SNOOZE, weekday=0)
    for index, names in enumerate(_WEEKDAYS):
        if text in names:
            return Action(SNOOZE, weekday=index)
    raise ActionError(f"{text!r} is not a day; give YYYY-MM-DD, a weekday or tomorrow")
