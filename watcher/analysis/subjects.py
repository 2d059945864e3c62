"""Subjects without the mail client's history: the one table of reply and forward prefixes.

Mail clients put "Re:", "AW:", "SV:", "Fwd:", "WG:", "TR:", "RV:", "回复：" ... before a
subject, lists put "[acme-list]", and auto-responders "Automatic reply:". Everything that
compares, scores or shows subjects strips them with this one table:

- `split_subject` / `normalize_subject`: the casefolded key under which conversations and the
  tracker compare subjects, and whether a reply or forward prefix was stripped;
- `strip_prefixes`: the same stripping with the case kept, for what is scored or shown (a
  subject that is nothing but prefixes and tags keeps its last one: "[Acme]" stays);
- `is_forward`: the subject starts with a forward prefix ("Fwd:", "WG:", "TR:", ...);
- `reply_subject`: the Subject of my reply to a message, its reply prefix kept in its language.
"""

from __future__ import annotations

import re
from functools import lru_cache

# Reply prefixes, lower case (matched against casefolded text), by language.
REPLY_PREFIXES: tuple[str, ...] = (
    *("re", "r"),  # English, Latin; Italian "R:"
    *("aw", "antw", "antwort"),  # German; Dutch "Antw:"
    *("sv", "vs"),  # Scandinavian; Finnish
    *("res", "rif", "odp", "vá", "ynt"),  # Portuguese, Italian, Polish, Hungarian, Turkish
    *("απ", "σχετ"),  # Greek
    *("回复", "回覆", "答复", "返信"),  # Chinese, Japanese
)
# Forward prefixes: a forward passes on someone else's subject (and words).
FORWARD_PREFIXES: tuple[str, ...] = (
    *("fw", "fwd", "wg", "tr", "rv", "enc", "doorst"),  # en, de, fr, es, pt, nl
    *("vb", "vl", "pd", "ilt", "πρθ"),  # Swedish, Finnish, Polish, Turkish, Greek
    *("转发", "轉寄", "転送"),  # Chinese, Japanese
)
# Auto-responders' prefixes ("Out of Office AutoReply: <subject>"): stripped so that the notice,
# and a person's "RE: Automatic reply: <subject>" answered through it, keep the subject of the
# message they answer. A bare "Out of office" is a subject, not a prefix: the colon counts.
AUTO_REPLY_PREFIXES: tuple[str, ...] = (
    "out of office auto-reply",
    "out of office autoreply",
    "out of the office auto-reply",
    "out of the office autoreply",
    "out of office",
    "out of the office",
    *("automatic reply", "auto-reply", "autoreply"),
    *("abwesenheitsnotiz", "automatische antwort", "réponse automatique"),
    *("respuesta automática", "automatisch antwoord", "risposta automatica"),
    *("resposta automática", "automatiskt svar", "autosvar"),
)


def _alternation(words: tuple[str, ...]) -> str:
    # Longest first: "out of office autoreply" is tried before "out of office".
    return "|".join(re.escape(word) for word in sorted(words, key=len, reverse=True))


# A counter after the prefix ("Re[2]:", "Re(2):", "Re^2:"), spaces before the colon ("RE :"),
# and the full-width colon of CJK clients ("回复：").
_COUNTER = r"\s*(?:\[\d+\]|\(\d+\)|\^\d+)?\s*[:：]"
_REPLY_OR_FORWARD = _alternation(REPLY_PREFIXES + FORWARD_PREFIXES)
# One reply/forward prefix (group 1), one "[list-tag]", or one auto-reply prefix.
_PREFIX_SOURCE = (
    rf"\s*(?:((?:{_REPLY_OR_FORWARD}){_COUNTER})"
    r"|\[[^\[\]]*\]"
    rf"|(?:{_alternation(AUTO_REPLY_PREFIXES)})\s*[:：])\s*"
)
# On casefolded text: an IGNORECASE pattern is several times slower, and the conversations
# split every subject of the store.
_PREFIX = re.compile(_PREFIX_SOURCE)
# The same on text as written, for what keeps its case.
_PREFIX_ANY_CASE = re.compile(_PREFIX_SOURCE, re.IGNORECASE)
_FORWARD = re.compile(rf"\s*(?:{_alternation(FORWARD_PREFIXES)}){_COUNTER}", re.IGNORECASE)
_REPLY = re.compile(rf"(?:{_alternation(REPLY_PREFIXES)}){_COUNTER}\s*", re.IGNORECASE)


@lru_cache(maxsize=65_536)  # the tracker asks again and again for the same few subjects
def normalize_subject(subject: str) -> str:
    """The subject without reply/forward prefixes and list tags, spaces collapsed, casefolded."""
    return split_subject(subject)[0]


def split_subject(subject: str) -> tuple[str, bool]:
    """(normalized subject, whether it had a reply or forward prefix)."""
    text = subject.casefold()
    position, replied = 0, False
    while match := _PREFIX.match(text, position):
        replied = replied or match.group(1) is not None
        position = match.end()
    return " ".join(text[position:].split()), replied


def strip_prefixes(subject: str) -> tuple[str, bool]:
    """(the subject without its prefixes and list tags, case kept; whether a reply or forward
    prefix was among them). What is left is never empty unless the subject was: "Re:" and
    "Re: [Acme]" keep their last piece ("Re:", "[Acme]"), which is all they say."""
    position, replied = 0, False
    while (match := _PREFIX_ANY_CASE.match(subject, position)) and subject[match.end() :].strip():
        replied = replied or match.group(1) is not None
        position = match.end()
    return subject[position:], replied


def is_forward(subject: str) -> bool:
    """The subject starts with a forward prefix: "Fwd: ...", "WG: ...", "TR: ...", "转发：..."."""
    return _FORWARD.match(subject) is not None


def reply_subject(subject: str) -> str:
    """The Subject of a reply to `subject`, on one line.

    A reply prefix of any language stays as written ("AW: Angebot", "RE:Offer", "Re[2]: x"),
    a run of them folds into the first ("Re: AW: x" -> "Re: x"); anything else gets "Re: "
    before it, a forward too ("Fwd: x" -> "Re: Fwd: x", as mail clients answer a forward).
    """
    subject = " ".join(subject.split())
    first = _REPLY.match(subject)
    if first is None:
        return f"Re: {subject}" if subject else "Re:"
    end = first.end()
    while (more := _REPLY.match(subject, end)) and subject[more.end() :].strip():
        end = more.end()
    return subject[: first.end()] + subject[end:]
