"""The suggested follow-up text under each digest item, in the thread's language and my voice.

The voice (shared/FOLLOW-UP-VOICE.md): say plainly what happened, own the gap when it has
been long, offer one concrete next step, make "no" easy, and close out gracefully after the
last reminder. Never "just checking in", never guilt or fake urgency.

Four situations, each written for every language in `suggestions/<language>.toml` (data, not
code: en de fr es nl it pt sv) and each replaceable in config.toml, `[digest.templates]` for
English and `[digest.templates.<language>]` for another:

    last        the thread reached give_up_after: a gracious close-out
    long_quiet  quiet for LONG_QUIET_DAYS or more: own the gap, offer to pick up
    reminder    a later rung: different words, and each one adds something ({offer})
    first       the quiet period just ended: short and warm

The language is that of my own text in the tracked message (`analysis.language.language_of`);
one the texts do not know, or one that cannot be told, gets English (`text_language`). The
greeting is the one I wrote there, as I wrote it ("Hallo Herr Becker," "Hola Lucía:"), and
the register follows mine: formal German gets Sie, informal Spanish tú. Without a greeting of
mine it is the contact's first name in that language's words ("Hallo Jonas,", else "Guten
Tag,"); where I showed no register the text is formal, the safer one for a business
follow-up, and a formal text with no greeting of mine greets without a first name (it could
be one I never used). English and Swedish have one register.

The sign-off, first that wins: `[digest.templates.<language>] signature`, `[digest]
signature`, the one I use with that contact or in that language (`analysis.voice.SignOffBook`),
else the language's closing and the name of the identity the proposal was sent from (the
full name in a formal text, the first name otherwise).

Placeholders of a template (the built-in texts use the same):

    {greeting}     "Hallo Herr Becker," as I wrote it, else "Hi Ana," / "Hello," in the language
    {first_name}   the contact's first name, "" when it cannot be told
    {about}        what was sent: "das Angebot (Angebot_2026-114.pdf)", or with the subject
                   when no document was attached: 'the proposal ("Website for Acme")'
    {kind}         the noun alone: "Angebot", "proposal"
    {subject}      the subject without Re:/AW:, shortened
    {attachments}  the documents' file names: "a.pdf and b.pdf"
    {sent_on}      the day the proposal was sent, in the language's form: "28. November"
    {noted_on}     the day of my latest follow-up, "" when there was none
    {noted}        "" or a phrase naming it (" or my note of 12 November"), for the recap
    {days}         days quiet (a number)
    {call_days}    two working days for a call, from two days after today: "Thursday or Friday"
    {offer}        the reminder's new thought (by rung: a smaller phase, a later start, ...)
    {signature}    the sign-off ("Viele Grüße\nMaya Lindqvist"); a template without it is
                   sent as written

After a follow-up of mine (`nudges`), the text is a later reminder (never "I should have
followed up long before now"), names the day the proposal itself was sent and my note's.

Pure: the date the text proposes a call for is derived from the day the quiet began
(`quiet_since`, else `sent_on`) plus `quiet_days` (today), so the same input always gives the
same text.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from datetime import date, timedelta

from babel.dates import format_date
from babel.lists import format_list

from watcher.analysis.subjects import strip_prefixes
from watcher.analysis.voice import Greeting, SignOff
from watcher.config.digest import check_template
from watcher.digest.model import LAST, REMINDER
from watcher.digest.phrasebook import KINDS, PHRASEBOOKS, Phrasebook, text_language

logger = logging.getLogger(__name__)

LONG_QUIET_DAYS = 14
_SUBJECT_WORDS = 9  # a longer subject is shortened inside the text: it is in the Subject anyway
_DOCUMENT_NAMES = 3  # more file names than this are cut short: "a.pdf, b.pdf, c.pdf, …"
_LINE_CHARS = 80  # a longer "greeting" or name is a sentence, not a salutation

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
    language: str = "en",
    greeting: Greeting | None = None,
    sign_off: SignOff | None = None,
    sender_name: str = "",
    signature: str = "",
) -> str:
    """A follow-up the user can send as it is or edit: plain text, under about 80 words.

    `rung` and `reminder_number`: where the thread is in its cadence; `templates`: the user's
    texts ("first", "de.first", "de.signature", ...); the rest: see `placeholders`.
    """
    values = placeholders(
        first_name=first_name,
        subject=subject,
        kind=kind,
        sent_on=sent_on,
        quiet_days=quiet_days,
        reminder_number=reminder_number,
        attachments=attachments,
        templates=templates,
        quiet_since=quiet_since,
        nudges=nudges,
        language=language,
        greeting=greeting,
        sign_off=sign_off,
        sender_name=sender_name,
        signature=signature,
    )
    book = PHRASEBOOKS[text_language(language)]
    name = _situation(rung, quiet_days, nudges)
    template = _configured(templates or {}, book.language, name)
    if template:
        problem = check_template(template)
        if problem is None:
            return _tidy_text(template.format_map(values), first_name)
        # The loader reports it at start; here the digest must still go out.
        logger.warning("digest template %r cannot be used (%s); using the built-in", name, problem)
    text = _register(book, greeting)[name].format_map(values)
    return _lower_after_greeting(book, text.strip())


def placeholders(
    *,
    first_name: str,
    subject: str,
    kind: str,
    sent_on: date,
    quiet_days: int,
    reminder_number: int = 0,
    attachments: Sequence[str] = (),
    templates: Mapping[str, str] | None = None,
    quiet_since: date | None = None,
    nudges: int = 0,
    language: str = "en",
    greeting: Greeting | None = None,
    sign_off: SignOff | None = None,
    sender_name: str = "",
    signature: str = "",
) -> dict[str, str | int]:
    """What a template's placeholders stand for, for one proposal (see the module docstring).

    `quiet_since`: the day the quiet began when it is not `sent_on` (my latest follow-up);
    `nudges`: how many follow-ups of mine were sent already; `language`: of my text in the
    thread ("" when unknown); `greeting`: the one I wrote there; `sign_off`: the one I use
    with this contact (`SignOffBook.best`); `sender_name`: the display name the proposal was
    sent under; `signature`: `[digest] signature`.
    """
    book = PHRASEBOOKS[text_language(language)]
    texts = _register(book, greeting)
    formal = greeting.formal if greeting is not None else None
    noted_on = _day(book, quiet_since) if nudges and quiet_since else ""
    today = (quiet_since or sent_on) + timedelta(days=max(quiet_days, 0))
    values = _values(book, first_name, subject, kind, sent_on, quiet_days, attachments)
    values.update(
        greeting=_greeting(book, texts, greeting, first_name),
        noted_on=noted_on,
        noted=texts["noted"].format(noted_on=noted_on) if noted_on else "",
        call_days=_call_days(book, today),
        signature=_signature(
            book,
            texts,
            formal=formal is True or (formal is None and book.registers),
            sign_off=sign_off,
            sender_name=sender_name,
            configured=_configured(templates or {}, book.language, "signature") or signature,
        ),
    )
    values["offer"] = texts[_offer(kind, reminder_number)].format_map(values)
    return values


def _register(book: Phrasebook, greeting: Greeting | None) -> Mapping[str, str]:
    """The texts in my register; where I showed none, the formal ones."""
    return book.informal if greeting is not None and greeting.formal is False else book.formal


def _situation(rung: str, quiet_days: int, nudges: int) -> str:
    if rung == LAST:
        return "last"
    if quiet_days >= LONG_QUIET_DAYS and not nudges:
        return "long_quiet"
    if rung == REMINDER or nudges:
        return "reminder"
    return "first"


def _configured(templates: Mapping[str, str], language: str, name: str) -> str:
    """The user's text `name` for `language`: `[digest.templates.<language>]`, and for English
    `[digest.templates]` too."""
    found = templates.get(f"{language}.{name}", "")
    if not found and language == "en":
        found = templates.get(name, "")
    return found


def _values(
    book: Phrasebook,
    first_name: str,
    subject: str,
    kind: str,
    sent_on: date,
    days: int,
    attachments: Sequence[str],
) -> dict[str, str | int]:
    """The placeholders that follow from the proposal alone (the rest: `suggest_follow_up`)."""
    words = strip_subject(subject).split()
    short = " ".join(words[:_SUBJECT_WORDS]) + ("…" if len(words) > _SUBJECT_WORDS else "")
    kind = kind if kind in KINDS else "message"
    documents = _join(book, attachments)
    if documents:
        about = book.about["documents"].format(the=book.the[kind], documents=documents)
    elif short:
        about = book.about["subject"].format(the=book.the[kind], subject=short)
    else:
        about = book.the[kind]
    return {
        "first_name": first_name,
        "subject": short,
        "kind": book.nouns[kind],
        "about": about,
        "sent_on": _day(book, sent_on),
        "days": days,
        "attachments": documents,
    }


def _join(book: Phrasebook, names: Sequence[str]) -> str:
    names = [" ".join(n.split()) for n in names if n.strip()]
    if len(names) > _DOCUMENT_NAMES:
        return ", ".join(names[:_DOCUMENT_NAMES]) + ", …"
    return format_list(names, locale=book.language) if names else ""


def _day(book: Phrasebook, day: date) -> str:
    """`day` in the language's own form: "28. November", "28 de noviembre", "1er décembre"."""
    text = format_date(day, book.date, locale=book.language)
    if day.day == 1 and book.first_day:
        text = re.sub(r"(?<!\d)1(?!\d)", book.first_day, text, count=1)
    return text


def _call_days(book: Phrasebook, today: date) -> str:
    """Two working days, starting two days from today: "Wednesday or Thursday"."""
    days: list[date] = []
    day = today + timedelta(days=1)
    while len(days) < 3:
        day += timedelta(days=1)
        if day.weekday() < 5:
            days.append(day)
    names = (format_date(d, "EEEE", locale=book.language) for d in days[:2])
    return book.call_days.format(*names)


def _offer(kind: str, number: int) -> str:
    """Each reminder adds something new: an answer to the likeliest objection, by rung."""
    if kind in _SIGNABLE:
        return "offer_changes" if number % 2 else "offer_terms"
    return "offer_scope" if number % 2 else "offer_timing"


def _greeting(
    book: Phrasebook, texts: Mapping[str, str], greeting: Greeting | None, first_name: str
) -> str:
    """Mine as I wrote it; else the first name in the language's words, except in a formal
    text where I showed the register but wrote no greeting: the first name may be one I never
    used ("Hallo Jonas," to someone I call Herr Becker)."""
    mine = _line(greeting.text) if greeting is not None else ""
    if mine:
        return mine
    if first_name and not (greeting is not None and greeting.formal and book.registers):
        return texts["hello_named"].format(first_name=first_name)
    return texts["hello"]


def _signature(
    book: Phrasebook,
    texts: Mapping[str, str],
    *,
    formal: bool,
    sign_off: SignOff | None,
    sender_name: str,
    configured: str,
) -> str:
    if configured.strip():
        return configured.strip("\r\n")
    if sign_off is not None and (sign_off.closing or sign_off.name):
        lines = (sign_off.closing, sign_off.name)
        return "\n".join(line for line in map(_line, lines) if line)
    name = _line(" ".join(sender_name.split()))
    if "@" in name:
        name = ""
    if name and not formal:
        name = first_name_of(name, "") or name
    return "\n".join(line for line in (texts.get("closing", book.closing), name) if line)


def _line(text: str) -> str:
    """Text from mail as a line of the suggestion, or "" when it is unfit for one: not
    printable (a line break, an escape sequence) or too long for a greeting or a name."""
    # A no-break space is how some clients write "Hallo Herr Becker": a space all the same.
    text = text.replace("\xa0", " ").replace("\u202f", " ").strip()
    return text if len(text) <= _LINE_CHARS and text.isprintable() else ""


def _lower_after_greeting(book: Phrasebook, text: str) -> str:
    """German goes on in lower case after a greeting that ends with a comma."""
    greeting, _, body = text.partition("\n\n")
    if book.lower_after_comma and greeting.endswith(",") and body[:1].isupper():
        return f"{greeting}\n\n{body[:1].lower()}{body[1:]}"
    return text


def _tidy_text(text: str, first_name: str) -> str:
    if not first_name:  # "Hi {first_name}," without a name: "Hi,"
        text = re.sub(r"[ \t]+([,!.])", r"\1", text)
    return text.strip()
