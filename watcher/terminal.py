"""Make foreign text safe to print on a terminal.

Subjects, names, attachment names, folder names and server error texts are chosen by
strangers. Printed as they are, an escape sequence in them sets the window title (OSC 0),
plants a link to anywhere (OSC 8), clears the screen (`ESC[2J`) or hides text (`ESC[8m`);
a C1 CSI (U+009B) does the same in one character, a CR or LF breaks a table row, and a bidi
override (U+202E, "Trojan source") or an invisible format character makes the text read
differently from what it is. Every such character is replaced by a visible U+FFFD here,
before anything is clipped, so no sequence can ever be left half cut.

Pure string functions: the CLI calls them on each field it prints.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterator

REPLACEMENT = "\ufffd"
ELLIPSIS = "…"
# Kept although they are format characters: Persian, Indic scripts and emoji sequences
# need them, and they neither move nor hide text.
_JOINERS = frozenset("\u200c\u200d")
_LINE_BREAK = re.compile("\r\n|[\n\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
_EMOJI_MODIFIERS = range(0x1F3FB, 0x1F400)
_REGIONAL_INDICATORS = range(0x1F1E6, 0x1F200)


def is_unsafe(char: str) -> bool:
    """True for a character a terminal may act on, or one that hides or reorders text.

    C0 controls, DEL, C1 controls, bidi controls and other format characters (except the
    joiners), lone surrogates (they cannot even be encoded), line and paragraph separators.
    """
    if char in _JOINERS:
        return False
    return unicodedata.category(char) in ("Cc", "Cf", "Cs", "Zl", "Zp")


def printable(text: str, max_width: int | None = None) -> str:
    """`text` as one line safe for a terminal, at most `max_width` columns wide.

    Line breaks, tabs and runs of white space become one space; every other unsafe
    character becomes U+FFFD. Clipped (with "…") after that, by display width, never
    inside a character with its combining marks or an emoji sequence.
    """
    line = "".join(REPLACEMENT if is_unsafe(c) else c for c in " ".join(text.split()))
    return line if max_width is None else clip(line, max_width)


def printable_row(text: str) -> str:
    """One line already laid out (a table row) safe for a terminal, its spacing kept: each
    line break or tab becomes a space, every other unsafe character U+FFFD."""
    return _inert(_LINE_BREAK.sub(" ", text))


def printable_block(text: str) -> str:
    """Text of many lines already laid out safe for a terminal, its spacing kept: each line
    break becomes "\\n", a tab a space, every other unsafe character U+FFFD."""
    return "\n".join(_inert(line) for line in _LINE_BREAK.split(text))


def _inert(line: str) -> str:
    return "".join(REPLACEMENT if is_unsafe(c) else c for c in line.replace("\t", " "))


def printable_json(value: object) -> str:
    """`value` as indented JSON in which no character can act on a terminal.

    `json.dumps` escapes C0 controls only; DEL, C1 controls (U+009B is a CSI), bidi
    controls and lone surrogates are escaped here as `\\uXXXX`: the same JSON for a parser.
    """
    text = json.dumps(value, indent=2, ensure_ascii=False)
    # A raw line break is the indentation's: json.dumps escapes those inside strings.
    return "".join(_json_escape(c) if c != "\n" and is_unsafe(c) else c for c in text)


def _json_escape(char: str) -> str:
    code = ord(char)
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def display_width(text: str) -> int:
    """Columns `text` takes on a terminal (East Asian wide characters take two)."""
    return sum(_cluster_width(cluster) for cluster in _clusters(text))


def clip(text: str, width: int) -> str:
    """`text` cut to `width` columns, ending in "…" when cut; never inside a cluster."""
    if display_width(text) <= width:
        return text
    kept: list[str] = []
    used = 0
    for cluster in _clusters(text):
        cluster_width = _cluster_width(cluster)
        if used + cluster_width > width - 1:
            break
        kept.append(cluster)
        used += cluster_width
    return "".join(kept) + ELLIPSIS if width > 0 else ""


def pad(text: str, width: int) -> str:
    """`text` filled with spaces to `width` columns (left-aligned), by display width."""
    return text + " " * max(width - display_width(text), 0)


def _char_width(char: str) -> int:
    if char in _JOINERS or unicodedata.category(char) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def _cluster_width(cluster: str) -> int:
    if len(cluster) == 2 and ord(cluster[0]) in _REGIONAL_INDICATORS:
        return 2  # a flag
    return max(_char_width(c) for c in cluster)


def _extends(cluster: str, char: str) -> bool:
    """Whether `char` belongs to the cluster before it (a mark, a joiner, a modifier)."""
    if cluster[-1] == "\u200d" or char in _JOINERS:
        return True
    if unicodedata.category(char) in ("Mn", "Mc", "Me") or ord(char) in _EMOJI_MODIFIERS:
        return True
    # Two regional indicators make one flag.
    return len(cluster) == 1 and all(ord(c) in _REGIONAL_INDICATORS for c in (cluster, char))


def _clusters(text: str) -> Iterator[str]:
    """`text` in user-perceived characters, near enough for clipping and padding."""
    cluster = ""
    for char in text:
        if cluster and _extends(cluster, char):
            cluster += char
            continue
        if cluster:
            yield cluster
        cluster = char
    if cluster:
        yield cluster
