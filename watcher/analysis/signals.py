"""Is a message automatic, a delivery failure? The signals every later message is judged by.

Pure functions over `MessageFacts`; no I/O. A message's signals are asked for again and
again (the bounce index, whether someone wrote between two of mine, the reply rules, "heard
since", `watcher thread`): `ThreadMessage.automatic` and `ThreadMessage.bounce` compute them
once per message, on first use, and every caller reads them there.

- `automatic_reason`: why a message never counts as a human reply (out-of-office, read
  receipt, mailing list, ...), or None. Header fields first, then one precompiled anchored
  regex on the subject.
- `bounce_of`: a delivery failure, with the Message-ID it names and the addresses that failed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from watcher.model import MessageFacts, from_delivery_system

__all__ = ["Bounce", "automatic_reason", "bounce_of"]


@dataclass(frozen=True, slots=True)
class Bounce:
    """A delivery failure: the message it names ("" if none) and the addresses that failed."""

    original_message_id: str
    recipients: tuple[str, ...]
    # What the failure's subject quotes ("Undeliverable: <subject>"), "" when it quotes none:
    # all an Exchange report without a Message-ID or an address says about the message.
    original_subject: str = ""
    # Why, in plain words and as the server said it: "the address does not exist (550 5.1.1
    # … User unknown)"; "" when the report gives no reason.
    reason: str = ""


# Out-of-office subjects, anchored at the start: "Re: Absence of the team" is a human reply.
_OUT_OF_OFFICE = re.compile(
    r"[\s\[(]*(?:out\s+of\s+(?:the\s+)?office|automatic\s+reply|auto[\s-]?(?:reply|response)"
    r"|autoreply|autoresponse|auto\s*:|away\s+from\s+(?:the\s+)?office|on\s+vacation"
    r"|abwesenheit(?:snotiz|smeldung)?|automatische\s+antwort|abwesend"
    r"|r[ée]ponse\s+automatique|absence|absent\s+du\s+bureau"
    r"|respuesta\s+autom[áa]tica|fuera\s+de\s+(?:la\s+)?oficina|ausente"
    r"|automatisch\s+antwoord|afwezig(?:heid)?|risposta\s+automatica|fuori\s+(?:sede|ufficio)"
    r"|resposta\s+autom[áa]tica|aus[êe]ncia|fora\s+do\s+escrit[óo]rio"
    r"|fr[åa]nvaro(?:meddelande)?|autosvar|automatiskt\s+svar)(?![^\W\d_])",
    re.IGNORECASE,
)
_REPORTS = {"disposition-notification": "read receipt", "delivery-status": "delivery report"}
_PRECEDENCE = {
    "bulk": "bulk mail",
    "list": "mailing list",
    "junk": "bulk mail",
    "auto_reply": "auto-reply",
}


def automatic_reason(facts: MessageFacts) -> str | None:
    """Why a message is automatic and never a human reply ("out-of-office reply", ...), or None."""
    if facts.content_type == "multipart/report":
        return _REPORTS.get(facts.report_type, "automatic report")
    subject = facts.subject
    if subject and _OUT_OF_OFFICE.match(subject):
        return "out-of-office reply"
    auto = facts.auto_submitted
    if auto and auto != "no" and not auto.startswith(("no;", "no ")):
        return "auto-reply" if auto.startswith("auto-replied") else "auto-submitted"
    if facts.x_autoreply or facts.x_autorespond:
        return "auto-reply"
    if facts.list_id:
        return "mailing list"
    if facts.precedence:
        reason = _PRECEDENCE.get(facts.precedence)
        if reason is not None:
            return reason
    if from_delivery_system(facts.from_[:1]):
        return "delivery report"
    return None


_BOUNCE_SUBJECT = re.compile(
    r"undeliver|returned\s+(?:mail|to\s+sender)|delivery\s+status\s+notification"
    r"|mail\s+delivery\s+(?:failed|failure|system|subsystem)|delivery\s+(?:failure|has\s+failed)"
    r"|failure\s+notice|could\s+not\s+be\s+delivered|not\s+delivered|unzustellbar"
    r"|nicht\s+zustellbar|non\s+remis|non\s+distribu|onbestelbaar|niet\s+bezorgd"
    r"|non\s+recapitabile|mancato\s+recapito|no\s+se\s+(?:puede|pudo)\s+entregar|no\s+entregado"
    r"|n[ãa]o\s+entregue|olevererbar|kunde\s+inte\s+levereras",
    re.IGNORECASE,
)
# Delay warnings and success notices come from the same senders, as the same kind of report.
# Anchored: the rest of a bounce subject is often the original subject ("Undeliverable: ...").
_NOT_A_FAILURE_SUBJECT = re.compile(
    r"[^(]*\((?:delay|delayed|success|relay|delivered|expanded)\)"
    r"|\s*(?:delayed|delivery\s+delayed|warning|(?:zustellung\s+)?verz[öo]gert"
    r"|remise\s+diff[ée]r[ée]e|retrasad[oa]|entrega\s+retrasada|vertraagd|ritardat[oa]"
    r"|atrasad[oa]|f[öo]rsenad|successful|delivered|relayed|expanded)\b",
    re.IGNORECASE,
)
# The prefixes with which Exchange and Notes put the failed message's subject after a colon
# ("Undeliverable: Proposal for Acme"); "Returned mail: see transcript" quotes nothing.
_QUOTING_BOUNCE = re.compile(
    r"\s*(?:undeliverable(?:\s+mail)?|unzustellbar|non\s+remis|onbestelbaar|non\s+recapitabile"
    r"|no\s+se\s+puede\s+entregar|n[ãa]o\s+entregue|olevererbar)\s*",
    re.IGNORECASE,
)
_ACTION = re.compile(r"^\s*action:\s*([a-z]+)", re.IGNORECASE | re.MULTILINE)
_DELAY_TEXT = re.compile(
    r"(?:has\s+been|was|is)\s+delayed|warning\s+message\s+only|will\s+(?:retry|keep\s+trying)",
    re.IGNORECASE,
)
_BODY_MESSAGE_ID = re.compile(r"^\s*message-id:\s*(<[^<>\s]+>)", re.IGNORECASE | re.MULTILINE)
_ADDRESS = r"[^\s<>()\"';,]+@[\w-]+(?:\.[\w-]+)+"
_FAILED_ADDRESS = re.compile(
    rf"^\s*final-recipient:\s*rfc822\s*;\s*<?({_ADDRESS})>?"  # RFC 3464 fields
    rf"|^\s*<({_ADDRESS})>\s*(?::|\.\.\.|\()"  # Postfix "<x@y>: host ...", sendmail "<x@y>..."
    rf"|^[ \t]+<?({_ADDRESS})>?[ \t]*$"  # Exim: the failed addresses, indented, one a line
    rf"|(?:delivered\s+to|message\s+to|delivery\s+to|recipients?:)\s+<?({_ADDRESS})>?"
    # Exchange: "did not reach the following recipient(s):", then "x@y on 12/13/2001 3:06 PM"
    rf"|^[ \t]*<?({_ADDRESS})>?[ \t]+on[ \t]+\d{{1,2}}/\d{{1,2}}/\d{{2,4}}",
    re.IGNORECASE | re.MULTILINE,
)


def bounce_of(facts: MessageFacts) -> Bounce | None:
    """A delivery failure report, or None (a delay warning or a success notice is not one)."""
    if facts.content_type == "multipart/report":
        if facts.report_type != "delivery-status":
            return None
    elif not (from_delivery_system(facts.from_) and _BOUNCE_SUBJECT.search(facts.subject)):
        return None
    text = facts.body_text
    if _NOT_A_FAILURE_SUBJECT.match(facts.subject):
        return None
    actions = {action.lower() for action in _ACTION.findall(text)}
    if (actions and "failed" not in actions) or (not actions and _DELAY_TEXT.search(text)):
        return None
    message_id = facts.reported_message_id
    if not message_id:
        found = _BODY_MESSAGE_ID.search(text)
        message_id = found.group(1) if found else ""
    recipients: dict[str, None] = {}
    for match in _FAILED_ADDRESS.finditer(text):
        address = next(group for group in match.groups() if group).lower().rstrip(".")
        if not from_delivery_system((("", address),)):
            recipients.setdefault(address)
    prefix, colon, quoted = facts.subject.partition(":")
    original_subject = quoted.strip() if colon and _QUOTING_BOUNCE.fullmatch(prefix) else ""
    return Bounce(
        original_message_id=message_id,
        recipients=tuple(recipients),
        original_subject=original_subject,
        reason=bounce_reason(text),
    )


# RFC 3463 status codes, in words a user acts on (the subject and detail digits).
_STATUS_WORDS = {
    "1.1": "the address does not exist",
    "1.2": "the domain does not exist or takes no mail",
    "1.3": "the address is not valid",
    "1.6": "the mailbox has moved",
    "1.10": "the address does not exist",
    "2.1": "the mailbox is disabled",
    "2.2": "the mailbox is full",
    "2.3": "the message is too big for the mailbox",
    "3.4": "the message is too big",
    "4.4": "the receiving server could not be reached",
    "4.7": "it could not be delivered in time",
    "7.1": "the receiving server refused it (policy or spam filter)",
    "7.26": "the receiving server refused it (sender authentication failed)",
}
_DIAGNOSTIC = re.compile(
    r"^\s*diagnostic-code:\s*[\w-]+\s*;\s*(.+(?:\n[ \t]+\S.*)*)", re.IGNORECASE | re.MULTILINE
)
_STATUS = re.compile(r"^\s*status:\s*([245])\.(\d{1,3}\.\d{1,3})", re.IGNORECASE | re.MULTILINE)
_SERVER_SAID = re.compile(
    r"\b([45]\d\d)[ -]#?([45])\.(\d{1,3}\.\d{1,3})\b[^\n]*(?:\n[ \t]+\S[^\n]*)*"
)
# Reports without a status code (Exchange, Notes, old sendmail) say it in words.
_REASON_PHRASES = (
    (
        re.compile(
            r"does\s+not\s+exist|user\s+unknown|unknown\s+user|no\s+such\s+(?:user|mailbox)"
            r"|invalid\s+recipient|recipient\s+not\s+found|not\s+listed\s+in\s+domino",
            re.IGNORECASE,
        ),
        "the address does not exist",
    ),
    (
        re.compile(r"mailbox\s+(?:is\s+)?full|over\s+quota|quota\s+exceeded", re.IGNORECASE),
        "the mailbox is full",
    ),
)
_REASON_LIMIT = 160
_POSTFIX_TAIL = re.compile(r"\s*\(in reply to [^()]*\)\s*$", re.IGNORECASE)


def bounce_reason(text: str) -> str:
    """Why a delivery failed, from the report's Diagnostic-Code (else the server's reply in the
    human part, else the Status code): plain words first, the server's own after them."""
    said = ""
    code = ""
    found = _DIAGNOSTIC.search(text)
    if found:
        said = " ".join(found.group(1).split())
    else:
        reply = _SERVER_SAID.search(text)
        if reply:
            said = " ".join(reply.group(0).split())
    said = _POSTFIX_TAIL.sub("", said)
    status = _STATUS.search(text)
    if status:
        code = status.group(2)
    else:
        in_said = re.search(r"\b[45]\.(\d{1,3}\.\d{1,3})\b", said)
        code = in_said.group(1) if in_said else ""
    words = _STATUS_WORDS.get(code, "") or next(
        (words for pattern, words in _REASON_PHRASES if pattern.search(said or text)), ""
    )
    if len(said) > _REASON_LIMIT:
        said = said[: _REASON_LIMIT - 1].rstrip() + "…"
    if words and said:
        return f"{words} ({said})"
    return words or said
