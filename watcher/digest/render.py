"""Turn a `Digest` into the morning email: plain text, HTML, and the MIME message.

Pure: a digest in, strings or an `EmailMessage` out. The templates live in
`watcher/digest/templates/` (shipped as package data). Everything that comes from mail
(names, subjects, excerpts, reasons) is untrusted: the HTML template autoescapes every field,
and the only hrefs are the ones built here (`mailto:` and an `https://` webmail link).

The digest is made for deciding: it opens with what the commands by mail did, then a summary,
one line per card (who, what, the price, how quiet, Done · Snooze 1w · Mute), then the cards,
each numbered by its position in `Digest.items` (what a reply "2 done" names) and carrying
all six one-tap commands (`CommandLinks.for_card`); why it was flagged and the thread id are
one small footer line.
"""

from __future__ import annotations

import email.policy
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from functools import cache
from urllib.parse import quote

import jinja2
from markupsafe import Markup, escape

from watcher.digest.commandlinks import CommandLinks
from watcher.digest.model import BOUNCED, LAST, REPLY_IN_SPAM, Digest, DigestItem
from watcher.errors import DeliveryError
from watcher.terminal import printable, printable_block

TEXT_WIDTH = 72
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_URL = re.compile(r"(?:https?://|mailto:)\S+", re.IGNORECASE)
_BULLET = re.compile(r"\s*(?:[-*•–]|\d{1,2}[.)])\s+")


# The one-tap actions the summary offers (the card offers all six), by their card label.
_SUMMARY_ACTIONS = {"Done": "Done", "Snooze 1 week": "Snooze 1w", "Mute": "Mute"}
_SUMMARY_SUBJECT = 60  # characters; the HTML cuts it to one line with an ellipsis
REPLY_HINT = (
    "Or reply to this mail, one line per card:",
    "2 done · 3 snooze 1w · mute 5 · 1 snooze until 2026-12-14",
)


@dataclass(frozen=True, slots=True)
class ActionLink:
    """A one-tap command: the button's label and its `mailto:` link; `text_href` is the same
    without the explaining body, for the plain-text part (six long URLs a card drown it)."""

    label: str
    href: str
    text_href: str = ""


@dataclass(frozen=True, slots=True)
class SummaryLine:
    """One card in the summary at the top: who, what, worth how much, how quiet, and the
    most common actions."""

    number: int
    who: str
    subject: str  # clipped
    worth: str  # "GBP 18,400", "" when no price was found
    state: str  # "12 days quiet", "bounced", "reply in spam"
    actions: tuple[ActionLink, ...]  # Done, Snooze 1w, Mute; () without command links
    alarm: bool


@dataclass(frozen=True, slots=True)
class ItemView:
    """One item as the templates show it: single-line fields, dates and links ready."""

    item: DigestItem
    number: int  # 1-based position in `Digest.items`: what a reply "2 done" names
    who: str  # the contact's name, else the address
    address: str  # shown after the name; "" when `who` is the address
    also: str  # further recipients, "" when none
    subject: str
    kind: str  # "Proposal"
    sent: str  # "Wed 11 Nov"
    quiet: str  # "12 days quiet"
    headline: str  # alarms: "Your proposal to Mateusz Nowak bounced"
    detail: str  # alarms: what happened, in one line
    attachments: str
    heard: str  # "Tom Berg wrote to you on Tue 24 Oct, under “Data room”"; "" when not
    mailto: str  # with the suggested text as body
    reply_link: str  # mailto with the subject only, for the plain-text part
    draft: str  # "A draft reply is waiting in Drafts (account work)"; "" when none was saved
    open_link: str  # "" unless an https:// webmail link
    last: bool  # the last rung: "Suggested last note"
    actions: tuple[ActionLink, ...]  # all six one-tap commands; () without command links
    footer: str  # "t3728c3029e · why: attachment Proposal.pdf · price EUR 9,800"
    mute_command: str  # "watcher thread t… --mute" when there are no command links, else ""
    account: str = ""  # the account it was read from, when the digest covers several


@dataclass(frozen=True, slots=True)
class SectionView:
    title: str
    note: str
    items: tuple[ItemView, ...]


def render_text(digest: Digest) -> str:
    """The plain-text part: wrapped at 72 columns (URLs excepted), headings underlined."""
    return _environment().get_template("digest.txt.j2").render(_context(digest))


def render_html(digest: Digest) -> str:
    """The HTML part: inline CSS, no remote resources, readable at 360 px and in dark mode."""
    return _environment().get_template("digest.html.j2").render(_context(digest))


def build_message(digest: Digest, *, sender: str) -> EmailMessage:
    """The digest as one multipart/alternative message (text, then HTML), ready to send.

    `sender` falls back to the recipient (a digest from yourself to yourself). Raises
    DeliveryError when an address contains a line break (header injection is refused).
    """
    # policy=SMTP: CRLF line endings on the wire, and every header value is checked for
    # CR/LF when set, so nothing from mail or config can add a header.
    message = EmailMessage(policy=email.policy.SMTP)
    headers = (
        ("From", sender or digest.recipient),
        ("To", digest.recipient),
        ("Subject", digest.subject),
        ("Date", format_datetime(digest.generated_at)),
        ("Message-ID", _bracketed(digest.message_id)),
        ("Auto-Submitted", "auto-generated"),  # RFC 3834: no auto-replies to it
        ("X-Followup-Watcher", "digest"),  # the sync skips its own digests
    )
    for name, value in headers:
        try:
            message[name] = value
        except ValueError as exc:
            raise DeliveryError(f"the digest's {name} header cannot be used: {exc}") from exc
    # Quoted-printable keeps both parts 7-bit safe for servers without 8BITMIME.
    message.set_content(render_text(digest), charset="utf-8", cte="quoted-printable")
    message.add_alternative(
        render_html(digest), subtype="html", charset="utf-8", cte="quoted-printable"
    )
    return message


@cache
def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("watcher.digest", "templates"),
        # Only the HTML template escapes: escaping the text part would show "&amp;".
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters["wrap"] = wrap_text
    environment.filters["underline"] = _underline
    environment.filters["paragraphs"] = _paragraphs
    environment.filters["reflow"] = reflow
    environment.filters["ticks"] = _ticks
    return environment


def _context(digest: Digest) -> dict[str, object]:
    views = [
        _view(item, digest.day, number, digest.commands)
        for number, item in enumerate(digest.items, 1)
    ]
    if len({item.account for item in digest.items}) > 1:
        views = [replace(v, account=_line(v.item.account)) for v in views]
    alarms, rest = views[: len(digest.alarms)], iter(views[len(digest.alarms) :])
    last_note = _FIRST_LAST_NOTE if digest.first else _LAST_NOTE
    sections = [
        SectionView(
            title=group.title,
            note=last_note if all(i.rung == LAST for i in group.items) else "",
            items=tuple(next(rest) for _ in group.items),
        )
        for group in digest.groups
    ]
    people = [_line(i.contact_name) or _line(i.contact_address) for i in digest.items]
    preheader = ", ".join(people[:3]) + (f" and {len(people) - 3} more" if len(people) > 3 else "")
    report = digest.command_report
    return {
        "subject": _line(digest.subject),
        "preheader": f"{preheader}: suggested follow-ups inside" if people else "",
        "first": _FIRST_NOTE if digest.first and digest.items else "",
        "applied": tuple(_line(line) for line in report.applied),
        "unreadable": tuple(_line(line) for line in report.unreadable),
        "ignored": report.ignored_line,
        "summary": tuple(_summary_line(view) for view in views),
        "reply_hint": REPLY_HINT if digest.commands is not None and views else (),
        "older": _older_line(digest.older, bool(views)),
        "alarms": tuple(alarms),
        "problems": tuple(_line(p) for p in digest.account_problems),
        "sections": tuple(section for section in sections if section.items),
        "empty": digest.empty,
        "watched": _count(digest.watched, "thread"),
        "next_digest": _moment(digest.next_digest) if digest.next_digest else "",
    }


_LAST_NOTE = (
    "These have had every reminder, and this is the last time they appear. Send one "
    "gracious last note, or simply let them go."
)
_FIRST_NOTE = (
    "Your first digest: these threads were found on the first scan of your mailbox. "
    "From now on each one comes back only when its next reminder is due."
)
_FIRST_LAST_NOTE = (
    "You have followed these up already, and this is the last time they appear. Send one "
    "gracious last note, or simply let them go."
)


def _older_line(older: int, cards: bool) -> str:
    """The first digest's one line for the threads already past give_up_after."""
    if not older:
        return ""
    what = "1 older proposal" if older == 1 else f"{older} older proposals"
    return f"{what} got no reply{' either' if cards else ''}; see `watcher list --all`."


def _summary_line(view: ItemView) -> SummaryLine:
    item = view.item
    state = {BOUNCED: "bounced", REPLY_IN_SPAM: "reply in spam"}.get(item.alarm, view.quiet)
    return SummaryLine(
        number=view.number,
        who=view.who,
        subject=_clip(view.subject, _SUMMARY_SUBJECT),
        worth=_line(item.price),
        state=state,
        actions=tuple(
            ActionLink(_SUMMARY_ACTIONS[action.label], action.href, action.text_href)
            for action in view.actions
            if action.label in _SUMMARY_ACTIONS
        ),
        alarm=bool(item.alarm),
    )


def _actions(item: DigestItem, commands: CommandLinks | None) -> tuple[ActionLink, ...]:
    if commands is None:
        return ()
    return tuple(
        ActionLink(
            action.label,
            mailto(commands.address, action.subject, action.body),
            mailto(commands.address, action.subject, ""),
        )
        for action in commands.for_card(item.thread_id, item.subject)
    )


def _footer(item: DigestItem) -> str:
    reasons = " · ".join(_line(r) for r in item.reasons)
    return f"{_line(item.thread_id)} · why: {reasons}" if reasons else _line(item.thread_id)


def _clip(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"


def _view(item: DigestItem, today: date, number: int, commands: CommandLinks | None) -> ItemView:
    name, address = _line(item.contact_name), _line(item.contact_address)
    who = name or address
    subject = _line(item.subject) or "(no subject)"
    noun = item.kind if item.kind and item.kind != "message" else "message"
    headline = ""
    if item.alarm == BOUNCED:
        headline = f"Your {noun} to {who} bounced"
    elif item.alarm == REPLY_IN_SPAM:
        headline = f"{who} replied, but the reply is in your spam folder"
    return ItemView(
        item=item,
        number=number,
        who=who,
        address=address if name else "",
        also=", ".join(_line(a) for a in item.other_contacts),
        subject=subject,
        kind=noun.capitalize(),
        sent=_day(item.sent_at.date(), today),
        quiet="1 day quiet" if item.quiet_days == 1 else f"{item.quiet_days} days quiet",
        headline=headline,
        # The selection's spam detail says what the headline says: show it once.
        detail=""
        if _line(item.alarm_detail).lower() == headline.lower()
        else _line(item.alarm_detail),
        attachments=", ".join(_line(a) for a in item.attachments),
        heard=(
            f"{_line(item.heard_from)} wrote to you on {_day(item.heard_at.date(), today)}, "
            f"under “{_line(item.heard_subject) or '(no subject)'}”"
            if item.heard_from and item.heard_at
            else ""
        ),
        mailto=mailto(
            item.contact_address,
            item.reply_subject,
            item.suggestion,
            item.other_contacts,
            in_reply_to=item.message_id,
        ),
        reply_link=mailto(
            item.contact_address,
            item.reply_subject,
            "",
            item.other_contacts,
            in_reply_to=item.message_id,
        ),
        draft=f"A draft reply is waiting in Drafts (account {_line(item.account)})"
        if item.draft_saved
        else "",
        open_link=safe_link(item.open_link),
        last=item.rung == LAST,
        actions=_actions(item, commands),
        footer=_footer(item),
        mute_command=f"watcher thread {_line(item.thread_id)} --mute" if commands is None else "",
    )


def mailto(
    address: str, subject: str, body: str, cc: Sequence[str] = (), *, in_reply_to: str = ""
) -> str:
    """An RFC 6068 mailto: URL; every reserved character percent-encoded, CRLF line breaks.

    `in_reply_to` (RFC 6068 allows any header field) threads the follow-up under my message
    in clients that honour it; the tracker counts it as a nudge either way.
    """
    url = "mailto:" + quote(_line(address), safe="@")
    fields = [("cc", ",".join(_line(a) for a in cc)), ("subject", _line(subject))]
    fields.append(("In-Reply-To", _line(in_reply_to)))
    fields.append(("body", "\r\n".join(body.splitlines())))
    query = "&".join(f"{key}={quote(value, safe='')}" for key, value in fields if value)
    return f"{url}?{query}" if query else url


def safe_link(link: str) -> str:
    """`link` when it is an https:// URL without spaces or controls, else "" (dropped)."""
    if not link.lower().startswith("https://") or any(c <= " " or c == "\x7f" for c in link):
        return ""
    return link


def wrap_text(text: str, indent: str = "", width: int = TEXT_WIDTH) -> str:
    """Wrap each line at `width`, prefixing `indent`; URLs stay whole, list items hang."""
    out: list[str] = []
    for line in printable_block(text).splitlines():
        if not line.strip():
            out.append(indent.rstrip())
            continue
        bullet = _BULLET.match(line)
        hang = " " * len(bullet.group(0)) if bullet else ""
        room = max(width - len(indent) - len(hang), 20)
        # A word longer than a line (a 60-character file name) is cut; a URL is not, so it
        # stays clickable on a line of its own.
        words: list[str] = []
        for word in line.split():
            if len(word) > room and not _URL.fullmatch(word):
                words.extend(word[i : i + room] for i in range(0, len(word), room))
            else:
                words.append(word)
        first = (bullet.group(0).strip() + " ") if bullet else ""
        body = " ".join(words[1:] if bullet else words)
        out.append(
            textwrap.fill(
                first + body if bullet else body,
                width=width,
                initial_indent=indent,
                subsequent_indent=indent + hang,
                break_long_words=False,
                break_on_hyphens=False,
            )
        )
    return "\n".join(out)


def reflow(text: str) -> str:
    """Undo a mail client's hard wrapping: lines of one paragraph joined, lists kept.

    A line is joined to the one before when that one was long (wrapped, not ended on
    purpose), unless it starts a list item or is a short line after a finished sentence
    (a sign-off: "Best,").
    """
    out: list[str] = []
    for line in text.splitlines():
        line = line.rstrip()
        previous = out[-1] if out else ""
        signoff = previous.endswith((".", "!", "?", ":")) and len(line.strip()) < 25
        if line.strip() and len(previous) >= 50 and not _BULLET.match(line) and not signoff:
            out[-1] = f"{previous} {line.strip()}"
        else:
            out.append(line)
    return "\n".join(out)


def _underline(heading: str, char: str = "-") -> str:
    lines = wrap_text(heading).splitlines()
    return "\n".join([*lines, char * max((len(line) for line in lines), default=0)])


def _paragraphs(text: str) -> Markup:
    """Escaped text as <p> per paragraph and <br> per line: no reliance on white-space CSS."""
    blocks = [b for b in re.split(r"\n[ \t]*\n", text.strip()) if b.strip()]
    paragraphs = []
    for number, block in enumerate(blocks, 1):
        margin = "0" if number == len(blocks) else "0 0 12px 0"
        lines = Markup("<br>").join(escape(line.strip()) for line in block.splitlines())
        paragraphs.append(Markup('<p style="margin:{};">{}</p>').format(margin, lines))
    return Markup("").join(paragraphs)


def _ticks(text: str) -> Markup:
    """Escaped text whose `backticked` parts are shown as code (a command to type)."""
    parts = re.split(r"`([^`]+)`", text)  # plain, code, plain, code, ..., plain
    code = Markup('<code class="fw-code" style="{}">{}</code>')
    return Markup("").join(
        code.format(_CODE_STYLE, part) if number % 2 else escape(part)
        for number, part in enumerate(parts)
    )


_CODE_STYLE = (
    "font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,'Liberation Mono',monospace;"
    "font-size:12px;padding:1px 4px;border-radius:4px;background-color:#f0efeb;color:#3b3b40;"
)


def _line(value: str) -> str:
    """One line: CR, LF, tabs and runs of spaces (from hostile or folded headers) as one space;
    escape sequences and bidi overrides shown as U+FFFD, since the plain-text part may be read
    in a terminal mail client (mutt, aerc)."""
    return printable(value)


def _bracketed(message_id: str) -> str:
    message_id = message_id.strip()
    return message_id if message_id.startswith("<") else f"<{message_id}>"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _day(day: date, today: date) -> str:
    """ "Wed 11 Nov" (the year only when it is not this year), independent of the locale."""
    text = f"{_DAYS[day.weekday()]} {day.day} {_MONTHS[day.month - 1]}"
    return text if day.year == today.year else f"{text} {day.year}"


def _moment(moment: datetime) -> str:
    """ "Tue 24 Nov, 07:30" in the moment's own time zone."""
    return f"{_day(moment.date(), moment.date())}, {moment:%H:%M}"
