"""Which words of a message are mine? The first step of classifying a message I sent.

Pure functions over a message's text; no I/O. Everything from the first quote or forward
header down is someone else's: a reply header ("On <date>, X wrote:", in eight languages),
an Outlook block ("-----Original Message-----", "From: / Sent:"), a forward separator
("---------- Forwarded message", "----- Forwarded by X on <date> -----"), a Lotus Notes
header ("Jane Doe <jd@x.example> on 12/13/99 03:06:49 PM", or a name and a date line followed
by "To:" / "cc:" lines), a long underscore rule; so are ">"-quoted lines and the signature.

A message whose header comes first, or that has only "FYI" or "see below" above it, passes
on someone else's mail: nothing in it is mine (`OwnText.nothing_mine`). The one exception is
bottom-posting: a reply header at the very top followed by ">"-quoted lines, with my text
below them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["OwnText", "own_text", "split_own"]

_REPLY_VERB = r"(?:wrote|schrieb|a\s+[ée]crit|escribi[óo]|schreef|ha\s+scritto|escreveu|skrev)"
_REPLY_HEADER = (
    rf"(?:on|am|le|el|op|il|em|den|p[åa])\b[^\n]{{0,300}}(?:\n[^\n]{{0,300}})??"
    rf"\b{_REPLY_VERB}\b[^\n]{{0,120}}?[ \t]*:[ \t]*$"
    rf"|[^\n>]{{0,200}}\b{_REPLY_VERB}[ \t]*:[ \t]*$"
)
# Separators that announce a forwarded message (not a reply).
_FORWARD_SEPARATOR = (
    r"-{2,}[ \t]*(?:forwarded\s+message|weitergeleitete\s+nachricht|message\s+transf[ée]r[ée]"
    r"|mensaje\s+reenviado|doorgestuurd\s+bericht|messaggio\s+inoltrato"
    r"|mensagem\s+encaminhada|vidarebefordrat\s+meddelande|forwarded\s+by\b)"  # the last: Notes
    r"|(?:begin\s+forwarded\s+message|anfang\s+der\s+weitergeleiteten\s+nachricht)[ \t]*:"
)
_ORIGINAL_SEPARATOR = (
    r"-{2,}[ \t]*(?:original\s+message|urspr[üu]ngliche\s+nachricht|message\s+d['’]origine"
    r"|mensaje\s+original|oorspronkelijk\s+bericht|messaggio\s+originale|mensagem\s+original"
    r"|ursprungligt\s+meddelande|originalmeddelande)"
    r"|_{10,}[ \t]*$"
)
_FROM_SENT_BLOCK = (
    r"\*?(?:from|von|de|van|da|fr[åa]n)\*?[ \t]?:[^\n]*\n(?:[^\n]*\n){0,2}?[ \t]*\*?"
    r"(?:sent|date|gesendet|datum|envoy[ée]|enviado(?:[ \t]+el)?|fecha|verzonden|inviato"
    r"|data|skickat)\*?[ \t]?:"
)
# Lotus Notes: "Jane Doe <jd@x.example> on 12/13/99 03:06:49 PM" (an address or a Notes
# name with "@" on the line), or a line ending in a date and time ("Lisa Sawyer  03/29/2001
# 11:52 AM", the name sometimes on the line above) with "To:" / "cc:" right below it.
_DATE_TIME = r"\d{1,2}/\d{1,2}/\d{2,4}[ \t]+\d{1,2}:\d{2}(?::\d{2})?[ \t]*(?:[ap]m)?"
_NOTES_HEADER = (
    rf"[^\n@]{{0,120}}@[^\n]{{0,120}}?[ \t]on[ \t]+{_DATE_TIME}[ \t]*$"
    rf"|(?:[^\n]{{0,80}}\n)?[^\n]{{0,80}}?{_DATE_TIME}[ \t]*\n"
    r"(?:[ \t]*\n){0,2}[ \t]*(?:to|cc)[ \t]*:"
)
_QUOTE_HEADER = re.compile(
    rf"^[ \t]*(?:(?P<reply>{_REPLY_HEADER})|(?P<forward>{_FORWARD_SEPARATOR})"
    rf"|{_ORIGINAL_SEPARATOR}|{_FROM_SENT_BLOCK}|{_NOTES_HEADER})",
    re.IGNORECASE | re.MULTILINE,
)
_QUOTED_SUBJECT = re.compile(
    r"^[ \t]*\*?(?:subject|betreff|objet|asunto|onderwerp|oggetto|assunto|[äa]mne)\*?[ \t]?:"
    r"[ \t]*([^\n]{0,300})$",
    re.IGNORECASE | re.MULTILINE,
)
_QUOTED_FROM = re.compile(
    r"^[ \t]*\*?(?:from|von|de|van|da|fr[åa]n)\*?[ \t]?:[ \t]*([^\n]{1,300})$",
    re.IGNORECASE | re.MULTILINE,
)
_SIGNATURE = re.compile(r"^--[ \t]*$", re.MULTILINE)
# What people write above a forward that adds nothing of their own.
_FORWARD_NOTE = re.compile(
    r"\b(?:fyi|f\.y\.i|for\s+your\s+(?:information|info|files|records|reference)"
    r"|(?:please\s+)?see\s+(?:below|attached)|zur\s+kenntnis|pour\s+info(?:rmation)?"
    r"|para\s+(?:tu|su)\s+informaci[óo]n|ter\s+info(?:rmatie)?|per\s+conoscenza"
    r"|para\s+conhecimento|f[öo]r\s+k[äa]nnedom)\b",
    re.IGNORECASE,
)
_FORWARD_NOTE_WORDS = 8  # "Ed, FYI. Joe" is a note; a sentence of my own is more


@dataclass(frozen=True, slots=True)
class OwnText:
    """My words in a message, and what the rest of it is."""

    text: str  # mine: above the first quote header, without ">" lines and signature
    nothing_mine: bool  # a forward or quote with nothing (or only "FYI") of mine above it
    forward_header: bool  # a forward separator ("Forwarded by", "Forwarded message")
    quoted_subject: str  # the Subject: line of the first quoted header, "" if none
    # Who wrote the first quoted message, as the header says it: the From: line of an
    # Outlook or forward block, else the header line ("Jane Doe <jd@x> on 12/13/99 ...",
    # "On Tue, Tom wrote:"); "" without a quote header.
    quoted_from: str = ""


def split_own(body: str) -> OwnText:
    """Split a body into my words and the quoted or forwarded rest (see the module doc)."""
    header = _QUOTE_HEADER.search(body)
    if header is None:
        return OwnText(_unquoted(_unsigned(body)), False, False, "")
    forward = header.group("forward") is not None
    subject = _QUOTED_SUBJECT.search(body, header.start(), header.end() + 1500)
    quoted_subject = subject.group(1).strip() if subject else ""
    author = _QUOTED_FROM.search(body, header.start(), header.end() + 1500)
    # Without a From: line, the header's first line names the author (Notes, "On ... wrote:").
    header_line = next((line for line in header.group(0).split("\n") if line.strip()), "")
    quoted_from = (author.group(1) if author else header_line).strip()[:300]
    before = body[: header.start()]
    if before.strip():
        text = _unquoted(_unsigned(before))
        nothing = _is_forward_note(text)
        return OwnText("" if nothing else text, nothing, forward, quoted_subject, quoted_from)
    if header.group("reply") is not None:
        # Bottom-posting: the quote is ">"-quoted and what follows it is mine.
        below = body[header.end() :]
        if _has_quoted_lines(below):
            text = _unquoted(_unsigned(below))
            return OwnText(text, not text.strip(), False, quoted_subject, quoted_from)
    return OwnText("", True, forward, quoted_subject, quoted_from)


def own_text(body: str) -> str:
    """My own words of a message: without quoted lines, the quoted message and signature."""
    return split_own(body).text


def _unsigned(text: str) -> str:
    signature = _SIGNATURE.search(text)
    return text if signature is None else text[: signature.start()]


def _unquoted(text: str) -> str:
    return "\n".join(line for line in text.split("\n") if not line.lstrip().startswith(">"))


def _has_quoted_lines(text: str) -> bool:
    return any(line.lstrip().startswith(">") for line in text[:20000].split("\n", 200)[:200])


def _is_forward_note(text: str) -> bool:
    words = text.split(None, _FORWARD_NOTE_WORDS + 1)
    return len(words) <= _FORWARD_NOTE_WORDS and _FORWARD_NOTE.search(text) is not None
