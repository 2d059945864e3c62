"""Foreign text made safe for a terminal: no control reaches it, clipping never cuts a sequence."""

from __future__ import annotations

import json
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from watcher.terminal import (
    REPLACEMENT,
    clip,
    display_width,
    is_unsafe,
    pad,
    printable,
    printable_block,
    printable_json,
    printable_row,
)

OSC_TITLE = "\x1b]0;pwned\x07"
OSC_LINK = "\x1b]8;;https://evil.example/\x1b\\click me\x1b]8;;\x1b\\"
CLEAR = "\x1b[2J\x1b[H"
HIDDEN = "\x1b[8mhidden\x1b[0m"
C1_CSI = "\x9b31m"
BIDI = "\u202eexe.fdp\u202c \u2066x\u2069 \u200e\u200f\u061c"
INVISIBLE = "a\u200bb\u2060c\ufeffd\u00ade"
# Everything a terminal may act on, or that hides or reorders text.
HOSTILE = "".join([OSC_TITLE, OSC_LINK, CLEAR, HIDDEN, C1_CSI, BIDI, INVISIBLE, "\x00\x7f\x85"])
ALL_CONTROLS = [chr(c) for c in [*range(0x20), *range(0x7F, 0xA0)]]
BIDI_CONTROLS = [chr(c) for c in [0x61C, 0x200E, 0x200F, *range(0x202A, 0x202F)]] + [
    chr(c) for c in range(0x2066, 0x206A)
]


def assert_safe_line(text: str) -> None:
    assert not any(is_unsafe(c) for c in text), ascii(text)
    assert not set(text) & set(ALL_CONTROLS + BIDI_CONTROLS), ascii(text)


def test_every_control_and_bidi_character_is_unsafe() -> None:
    assert all(is_unsafe(c) for c in ALL_CONTROLS + BIDI_CONTROLS)
    assert all(is_unsafe(c) for c in "\u200b\u2060\ufeff\u00ad\u2028\u2029\ud800\udfff")
    assert not any(is_unsafe(c) for c in "aé€漢😀 \u200d\u200c\u0301")


def test_escape_sequences_become_visible_and_inert() -> None:
    line = printable(HOSTILE)
    assert_safe_line(line)
    assert "\n" not in line
    assert line.startswith(f"{REPLACEMENT}]0;pwned{REPLACEMENT}")  # shown, not obeyed
    assert f"{REPLACEMENT}[8mhidden" in line


def test_line_breaks_and_white_space_runs_become_one_space() -> None:
    assert printable("  Offer\r\n for\tyou\x0b\x0c\x1c\x85\u2028 now  ") == "Offer for you now"


def test_harmless_text_is_unchanged() -> None:
    for text in ("Angebot für Müller", "見積もりの件", "Família 👨‍👩‍👧 🇩🇪", "e\u0301", "a — b"):
        assert printable(text) == text


@pytest.mark.parametrize("width", range(1, 30))
def test_clipping_after_sanitizing_leaves_no_partial_sequence(width: int) -> None:
    clipped = printable(HOSTILE, width)
    assert_safe_line(clipped)
    assert display_width(clipped) <= width


def test_clip_keeps_clusters_whole_and_counts_wide_characters() -> None:
    assert display_width("漢字") == 4 and display_width("e\u0301") == 1
    assert clip("漢字漢字", 5) == "漢字…"
    assert clip("ééééé", 3) == "éé…"
    assert clip("e\u0301e\u0301e\u0301", 3) == "e\u0301e\u0301e\u0301"
    assert clip("e\u0301e\u0301e\u0301e\u0301", 3) == "e\u0301e\u0301…"
    family = "👨\u200d👩\u200d👧"
    assert clip(f"ab{family}cd", 4) == "ab…"  # the whole family or none of it
    assert clip(f"{family}cdef", 4) == f"{family}c…"
    assert clip("🇩🇪🇫🇷xyz", 3) == "🇩🇪…"
    assert clip("abc", 0) == ""


def test_pad_fills_to_display_width() -> None:
    assert pad("漢字", 6) == "漢字  "
    assert display_width(pad("e\u0301", 4)) == 4
    assert pad("toolong", 3) == "toolong"


def test_block_keeps_layout_and_lines() -> None:
    text = "Title\r\n=====\n\n  indented\ttab\x1b[2J\rnext\u2028sep\n"
    assert printable_block(text) == f"Title\n=====\n\n  indented tab{REPLACEMENT}[2J\nnext\nsep\n"


def test_json_stays_the_same_json_and_escapes_what_json_dumps_leaves_raw() -> None:
    value = {"subject": HOSTILE + "\ud800 😀 \U000e0041", "name": "Müller"}
    raw = json.dumps(value, ensure_ascii=False)
    assert "\x9b" in raw and "\u202e" in raw  # what the standard library leaves as it is
    text = printable_json(value)
    assert not any(is_unsafe(c) for c in text.replace("\n", ""))
    assert json.loads(text) == value
    assert "Müller" in text and "😀" in text  # readable text stays readable


@given(st.text())
def test_any_text_comes_out_safe_and_within_width(text: str) -> None:
    for width in (1, 7, 44):
        line = printable(text, width)
        assert not any(is_unsafe(c) for c in line)
        assert display_width(line) <= width
    block = printable_block(text)
    assert all(c == "\n" or not is_unsafe(c) for c in block)
    assert json.loads(printable_json(text)) == text


@given(st.text(st.characters(blacklist_categories=("Cc", "Cf", "Cs", "Zl", "Zp", "Zs"))))
def test_clipping_only_ever_removes_whole_clusters_from_the_end(text: str) -> None:
    clipped = clip(text, 10)
    if clipped != text:
        kept = clipped.removesuffix("…")
        assert text.startswith(kept)
        rest = text[len(kept) :]
        assert not rest or unicodedata.category(rest[0]) not in ("Mn", "Me")


def test_row_keeps_spacing_on_one_line() -> None:
    row = "  Sent\u202e   12  \\Sent\r\nnext\tcell\x1b[2J"
    assert printable_row(row) == f"  Sent{REPLACEMENT}   12  \\Sent next cell{REPLACEMENT}[2J"
