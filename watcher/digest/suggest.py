"""The suggested follow-up text under each digest item, and the greeting's first name.

The voice (shared/FOLLOW-UP-VOICE.md): say plainly what happened, own the gap when it has
been long, offer one concrete next step, make "no" easy, and close out gracefully after the
last reminder. Never "just checking in", never guilt or fake urgency. The user signs.

Four situations, each replaceable by a template in `[digest.templates]`:

    last        the thread reached give_up_after: a gracious close-out
    long_quiet  quiet for LONG_QUIET_DAYS or more: own the gap, offer to pick up
    reminder    a later rung: different words, and each one adds something
    first       the quiet period just ended: short and warm

After a follow-up of mine (`nudges`), the text is a later reminder (never "I should have
followed up long before now") and still names the day the proposal itself was sent.

Pure: the date the text proposes a call for is derived from the day the quiet began
(`quiet_since`, else `sent_on`) plus `quiet_days` (today), so the same input always gives the
same text. English only for now.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date, timedelta

from watcher.analysis.subjects import strip_prefixes
from watcher.config.digest import check_template
from watcher.digest.model import LAST, REMINDER

logger = logging.getLogger(__name__)

LONG_QUIET_DAYS = 14
_SUBJECT_WORDS = 9  # a longer subject is shortened inside the text: it is in the Subject anyway

_KIND_NOUNS = {
    "proposal": "proposal",
    "quote": "quote",
    "estimate": "estimate",
    "offer": "offer",
    "contract": "contract",
    "agreement": "agreement",
}
_SIGNABLE = frozenset({"contract", "agreement"})

# Addresses that reach a function, not a person: "Hi Info," would be worse than "Hello,".
# (Word lists read better as text than as 40 one-word lines, hence the noqa.)
_ROLES = frozenset(
    """accounts admin billing booking bookings bureau buero büro careers contact enquiries
    hello help hi hr info inquiries invoices jobs kontakt mail marketing news newsletter
    no-reply noreply office orders post postmaster press reception sales service studio
    support team webmaster""".split()  # noqa: SIM905
)
_TITLES = frozenset(
    """dr dr. prof prof. mr mr. mrs mrs. ms ms. mx mx. herr frau sr sr. sra sra. mme mme. m.
    mlle dott dott. ing ing. dipl. mag. sir dame""".split()  # noqa: SIM905
)
_COMPANY = frozenset(
    "ab ag as asa bv gmbh inc inc. llc ltd ltd. oy plc sa s.a. sarl srl".split()  # noqa: SIM905
)
_NAME = re.compile(r"[^\W\d_]{2,}(?:['’-][^\W\d_]+)*")


def first_name_of(display_name: str, address: str) -> str:
    """The first name to greet someone by, or "" when it cannot be told with confidence."""
    name = " ".join(display_name.replace('"', " ").replace("'", " ").split())
    if name and "@" not in name:
        if "," in name:  # "Ruiz, Ana": the directory form, family name first
            name = name.split(",", 1)[1].strip()
        words = name.split()
        titled = bool(words) and words[0].lower() in _TITLES
        words = [w for w in words if w.lower() not in _TITLES]
        if any(w.lower().strip(".") in _ROLES | _COMPANY for w in words):
            return ""
        # "Herr Becker" or "Dr. Meier": a title and one word is a family name.
        if words and not (titled and len(words) == 1):
            return _tidy(words[0])
        return ""
    local = address.rsplit("@", 1)[0].split("+", 1)[0].lower()
    parts = [p for p in re.split(r"[._-]", local) if p]
    # Only first.last forms: "jdoe" or "ravi" alone could be a name or not; "Hello," is safe.
    if len(parts) < 2 or local in _ROLES or parts[0] in _ROLES:
        return ""
    return _tidy(parts[0])


def _tidy(word: str) -> str:
    if _NAME.fullmatch(word) is None:  # an initial ("J."), digits, punctuation
        return ""
    if word.isupper() or word.islower():  # "ANA" or "ana": shown as "Ana"
        return "-".join(part.capitalize() for part in word.split("-"))
    return word


def strip_subject(subject: str) -> str:
    """The subject without reply/forward prefixes, in one line."""
    # The text names the proposal, not the mail client's history ("Re: Fwd: Re[2]:").
    return strip_prefixes(" ".join(subject.split()))[0]


def suggest_follow_up(
    *,
    first_name: str,
    subject: str,
    kind: str,
    sent_on: date,
    quiet_days: int,
    rung: str,
    reminder_number: int,
    attachments: Sequence[str] = (),
    templates: Mapping[str, str] | None = None,
    quiet_since: date | None = None,
    nudges: int = 0,
) -> str:
    """A follow-up the user can send as it is or edit: plain text, under about 80 words.

    `quiet_since`: the day the quiet began when it is not `sent_on` (my latest follow-up);
    `nudges`: how many follow-ups of mine were sent already.
    """
    if rung == LAST:
        name = "last"
    elif quiet_days >= LONG_QUIET_DAYS and not nudges:
        name = "long_quiet"
    elif rung == REMINDER or nudges:
        name = "reminder"
    else:
        name = "first"
    values = _values(first_name, subject, kind, sent_on, quiet_days, attachments)
    template = (templates or {}).get(name)
    if template is not None:
        problem = check_template(template)
        if problem is None:
            return _tidy_text(template.format_map(values), first_name)
        # The loader reports it at start; here the digest must still go out.
        logger.warning("digest template %r cannot be used (%s); using the built-in", name, problem)
    today = (quiet_since or sent_on) + timedelta(days=max(quiet_days, 0))
    return _BUILT_IN[name](values, _call_days(today), reminder_number)


def _values(
    first_name: str,
    subject: str,
    kind: str,
    sent_on: date,
    days: int,
    attachments: Sequence[str],
) -> dict[str, str | int]:
    words = strip_subject(subject).split()
    short = " ".join(words[:_SUBJECT_WORDS]) + ("…" if len(words) > _SUBJECT_WORDS else "")
    return {
        "first_name": first_name,
        "greeting": f"Hi {first_name}," if first_name else "Hello,",
        "subject": short,
        "kind": _KIND_NOUNS.get(kind, "message"),
        "sent_on": f"{sent_on.day} {sent_on:%B}",
        "days": days,
        "attachments": _join(attachments),
    }


def _join(names: Sequence[str]) -> str:
    names = [n for n in names if n]
    return ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else "".join(names)


def _tidy_text(text: str, first_name: str) -> str:
    if not first_name:  # "Hi {first_name}," without a name: "Hi,"
        text = re.sub(r"[ \t]+([,!.])", r"\1", text)
    return text.strip()


def _call_days(today: date) -> str:
    """Two working days, starting two days from today: "Wednesday or Thursday"."""
    days: list[date] = []
    day = today + timedelta(days=1)
    while len(days) < 3:
        day += timedelta(days=1)
        if day.weekday() < 5:
            days.append(day)
    return f"{days[0]:%A} or {days[1]:%A}"


def _about(values: Mapping[str, str | int]) -> str:
    """'the proposal ("Website for Acme")', or just 'the proposal' without a subject."""
    if not values["subject"]:
        return f"the {values['kind']}"
    return f'the {values["kind"]} ("{values["subject"]}")'


def _first(values: Mapping[str, str | int], call: str, _: int) -> str:
    return (
        f"{values['greeting']}\n\n"
        f"I sent you {_about(values)} on {values['sent_on']} and haven't heard back yet; "
        "I know how full inboxes get.\n\n"
        f"Would a 15-minute call on {call} help? I can walk you through it and answer any "
        'questions. And if the timing is wrong, a one-line "not now" is a perfectly good '
        "answer.\n\nBest,"
    )


def _reminder(values: Mapping[str, str | int], call: str, number: int) -> str:
    # Each reminder adds something new: an answer to the likeliest objection, by rung.
    kind = values["kind"]
    if kind in _SIGNABLE and number % 2:
        offer = (
            f"If anything in the {kind} needs changing before you can sign, tell me what "
            "and I'll send an updated version the same day."
        )
    elif kind in _SIGNABLE:
        offer = f"If it helps, I'm happy to go through the terms with whoever reviews the {kind}."
    elif number % 2:
        offer = (
            "If the scope or the budget is what's holding it up, I can suggest a smaller "
            "first phase."
        )
    else:
        offer = "If the timing is the issue, I'm happy to move the start date."
    # No "here is": next to the document's name, the classifier reads it as sending a new
    # document, and the reminder sent from this text would not count as one.
    return (
        f"{values['greeting']}\n\n"
        f"I haven't heard back about {_about(values)} I sent on {values['sent_on']}, and I "
        f"have one more thought. {offer}\n\n"
        f"Would 15 minutes on {call} help us wrap it up? If now isn't the time, that's fine "
        "too: just tell me when would suit you better.\n\nBest,"
    )


def _long_quiet(values: Mapping[str, str | int], call: str, _: int) -> str:
    return (
        f"{values['greeting']}\n\n"
        f"I sent you {_about(values)} on {values['sent_on']}, and I should have followed "
        "up long before now. If it's still of interest, I'd be glad to pick up where we "
        "left off and update anything that has changed since.\n\n"
        f"Would a 15-minute call on {call} work? If your plans have moved on, a one-line "
        "reply is all I need.\n\nBest,"
    )


def _last(values: Mapping[str, str | int], _call: str, _: int) -> str:
    return (
        f"{values['greeting']}\n\n"
        f"I haven't heard back about {_about(values)} I sent on {values['sent_on']}, so I'll "
        "take it that now isn't the right time, and I won't keep writing about it.\n\n"
        "If things change, just reply here and we'll pick it up from where we left off. "
        "Thank you for considering it.\n\nBest,"
    )


_BUILT_IN: Mapping[str, Callable[[Mapping[str, str | int], str, int], str]] = {
    "first": _first,
    "reminder": _reminder,
    "long_quiet": _long_quiet,
    "last": _last,
}
