"""Tests for `watcher.mail.bodystructure`: a parsed BODYSTRUCTURE as attachments and text part.

Samples read from a real server, and the round trip through the FETCH parser, are in
test_fetch.py; here the structures are written out as `fetch.parse_fetch_response` returns them.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from watcher.mail.bodystructure import BodyOutline, TextPart, describe_bodystructure
from watcher.model import Attachment

# Random parsed values, the shapes `parse_fetch_response` gives: NIL, numbers, atoms, strings.
_ATOM_CHARS = st.sampled_from(list("abcXYZ019$\\-.+_%&'*"))
atoms = st.text(_ATOM_CHARS, min_size=1, max_size=8).filter(
    lambda s: s != "NIL" and not s.isdecimal()
)
strings = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\r\n"), max_size=12)
leaves: st.SearchStrategy[Any] = st.one_of(st.none(), st.integers(0, 10**12), atoms, strings)
values = st.recursive(leaves, lambda inner: st.lists(inner, max_size=5), max_leaves=25)


def _part(main: str, sub: str, **kw: Any) -> list[Any]:
    """A basic single part with extension data, as Dovecot sends it."""
    params = kw.get("params")
    dsp = kw.get("dsp")
    if main == "text":
        return [main, sub, params, None, None, kw.get("enc", "7bit"), kw.get("size", 10), 1]
    return [main, sub, params, None, None, kw.get("enc", "base64"), kw.get("size", 10), None, dsp]


def test_rfc2231_continuations_not_joined_by_server() -> None:
    structure = [
        ["text", "plain", ["charset", "utf-8"], None, None, "7bit", 5, 1, None, None],
        [
            "application",
            "pdf",
            None,
            None,
            None,
            "base64",
            99,
            None,
            [
                "attachment",
                [
                    "filename*1*",
                    "%20Nr.%202026-114.pdf",
                    "filename*0*",
                    "iso-8859-1'de'%C4nderung",
                    "filename*2",
                    "-final",
                ],
            ],
        ],
        "mixed",
    ]
    outline = describe_bodystructure(structure)
    assert outline.attachments == (
        Attachment("Änderung Nr. 2026-114.pdf-final", "application/pdf", 99),
    )


@pytest.mark.parametrize(
    ("params", "dsp", "filename"),
    [
        (["name", "plain.pdf"], None, "plain.pdf"),
        (["NAME", "upper.pdf"], None, "upper.pdf"),
        (None, ["attachment", ["filename", "dsp.pdf"]], "dsp.pdf"),
        (["name", "ct.pdf"], ["attachment", ["filename", "dsp.pdf"]], "dsp.pdf"),
        (["name*", "utf-8''%E2%82%AC.pdf"], None, "€.pdf"),
        (["name", "=?iso-8859-1?Q?Pr=FCfung?=.pdf"], None, "Prüfung.pdf"),
        (["name", "=?utf-8?B?w5w=?= =?utf-8?B?w5w=?=.pdf"], None, "ÜÜ.pdf"),
        (["name", "=?x-unknown?Q?abc?=.pdf"], None, "abc.pdf"),
        (["name*", "bogus-charset''abc%FF.pdf"], None, "abc\ufffd.pdf"),
        (["name*", "no-quotes%20here.pdf"], None, "no-quotes here.pdf"),
        (None, "attachment", ""),
        (None, None, ""),
    ],
)
def test_attachment_names(params: Any, dsp: Any, filename: str) -> None:
    structure = [
        _part("text", "plain"),
        _part("application", "pdf", params=params, dsp=dsp),
        "mixed",
    ]
    (attachment,) = describe_bodystructure(structure).attachments
    assert attachment == Attachment(filename, "application/pdf", 10)


def test_named_text_parts_are_attachments_and_not_the_body() -> None:
    structure = [
        [*_part("text", "plain"), None, ["inline", ["filename", "notes.txt"]]],
        _part("text", "html"),
        _part("image", "png"),
        "mixed",
    ]
    outline = describe_bodystructure(structure)
    assert outline.text_part == TextPart("2", "html", "7bit", "us-ascii", 10)
    assert outline.attachments == (
        Attachment("notes.txt", "text/plain", 10),
        Attachment("", "image/png", 10),
    )


def test_single_part_named_text_is_still_the_body() -> None:
    outline = describe_bodystructure(["text", "plain", ["name", "x.txt"], None, None, "8bit", 3, 1])
    assert outline.text_part == TextPart("1", "plain", "8bit", "us-ascii", 3)
    assert outline.attachments == ()


def test_named_inline_text_is_the_body_when_nothing_else_is() -> None:
    # Seen in CPython's test_email samples: both text parts are `inline; filename=msg.txt`.
    named = [*_part("text", "plain"), None, ["inline", ["filename", "msg.txt"]]]
    attached = [*_part("text", "plain"), None, ["attachment", ["filename", "a.txt"]]]
    outline = describe_bodystructure([attached, named, named, "mixed"])
    assert outline.text_part == TextPart("2", "plain", "7bit", "us-ascii", 10)
    assert outline.attachments == (
        Attachment("a.txt", "text/plain", 10),
        Attachment("msg.txt", "text/plain", 10),
    )


def test_empty_media_type_means_text_plain() -> None:
    # Dovecot's BODYSTRUCTURE for `Content-Type: text; charset=us-ascii`.
    outline = describe_bodystructure(["", "", None, None, None, "7bit", 235, None, None, None])
    assert outline.content_type == "text/plain"
    assert outline.text_part == TextPart("1", "plain", "7bit", "us-ascii", 235)
    odd = describe_bodystructure(["application", "", None, None, None, "base64", 5])
    assert odd.attachments == (Attachment("", "application/octet-stream", 5),)


def test_single_part_non_text_message_is_one_attachment() -> None:
    outline = describe_bodystructure(_part("application", "pdf", params=["name", "scan.pdf"]))
    assert outline.content_type == "application/pdf"
    assert outline.text_part is None
    assert outline.attachments == (Attachment("scan.pdf", "application/pdf", 10),)


def test_attached_message_is_not_descended_into() -> None:
    inner = [
        _part("text", "plain"),
        _part("application", "pdf", params=["name", "in.pdf"]),
        "mixed",
    ]
    envelope = [None] * 10
    forwarded = ["message", "rfc822", None, None, None, "7bit", 500, envelope, inner, 20]
    outline = describe_bodystructure([forwarded, "mixed"])
    assert outline.text_part is None  # the only text is inside the attached message
    assert outline.attachments == (Attachment("", "message/rfc822", 500),)
    assert outline.rfc822_headers_section == ""  # not inside a report


def test_nested_report_inside_mixed() -> None:
    report = [
        _part("text", "plain"),
        ["message", "delivery-status", None, None, None, "7bit", 50],
        [
            "message",
            "rfc822",
            None,
            None,
            None,
            "7bit",
            500,
            [None] * 10,
            _part("text", "plain"),
            9,
        ],
        "report",
        ["report-type", "Delivery-Status"],
    ]
    outline = describe_bodystructure([report, _part("text", "plain"), "mixed"])
    assert outline.content_type == "multipart/mixed"
    assert outline.report_type == "delivery-status"
    assert outline.rfc822_headers_section == "1.3"
    assert outline.rfc822_headers_fetch == "1.3.HEADER"
    assert outline.text_part is not None
    assert outline.text_part.section == "1.1"


def test_disposition_found_when_server_omits_lines_or_extension_data() -> None:
    # No `lines` for a text part: the disposition sits where md5 would.
    shifted = [
        "text",
        "csv",
        None,
        None,
        None,
        "7bit",
        9,
        None,
        ["attachment", ["filename", "a.csv"]],
    ]
    # Extension data absent altogether (BODY instead of BODYSTRUCTURE).
    bare = ["application", "pdf", ["name", "b.pdf"], None, None, "base64", 7]
    # A bare disposition string.
    odd = ["image", "png", None, None, None, "base64", 5, None, "ATTACHMENT"]
    outline = describe_bodystructure([_part("text", "plain"), shifted, bare, odd, "mixed"])
    assert outline.attachments == (
        Attachment("a.csv", "text/csv", 9),
        Attachment("b.pdf", "application/pdf", 7),
        Attachment("", "image/png", 5),
    )


@pytest.mark.parametrize(
    "garbage",
    [
        None,
        [],
        [None],
        [[]],
        [[], "mixed"],
        ["text"],
        [1, 2, 3],
        "text/plain",
        b"bytes",
        [["text", "plain", "not-params", 5, 5, 5, "big", "x", "y", "z"]],
        [["message", "rfc822", None, None, None, "7bit", 1, "env", "body"]],
        [["application", "pdf", ["name"], None, None, None, None, None, ["attachment", ["x"]]]],
        [["application", "pdf", [1, 2, None, "x"], None, None, None, None, None, [None, None]]],
    ],
)
def test_describe_never_raises_on_garbage(garbage: Any) -> None:
    assert isinstance(describe_bodystructure(garbage), BodyOutline)


def test_describe_survives_absurd_nesting() -> None:
    structure: Any = _part("text", "plain")
    for _ in range(5000):
        structure = [structure, "mixed"]
    assert describe_bodystructure(structure).content_type == "multipart/mixed"


@settings(max_examples=300, deadline=None)
@given(values)
def test_describe_never_raises_on_random_structures(structure: Any) -> None:
    assert isinstance(describe_bodystructure(structure), BodyOutline)


@pytest.mark.parametrize(
    "structure",
    [
        ["TEXT", "PLAIN", ["CHARSET", "us-ascii"], None, None, "7BIT", 1234, 30],
        ["text", "html", ["charset", "UTF-8"], None, None, "quoted-printable", 99, 3, None, None],
        ["TEXT", "PLAIN", None, None, None, "BASE64", 10, 1],
        ["TEXT", "PLAIN", ["NAME", "notes.txt"], None, None, "7BIT", 10, 1],
        [
            "TEXT",
            "PLAIN",
            None,
            None,
            None,
            "7BIT",
            10,
            1,
            None,
            ["attachment", ["filename", "a.txt"]],
        ],
        ["TEXT", "CSV", None, None, None, "7BIT", 10, 1],
    ],
)
def test_single_part_fast_path_agrees_with_the_full_walk(structure: list[object]) -> None:
    from watcher.mail.bodystructure import _full_outline

    assert describe_bodystructure(structure) == _full_outline(structure)  # type: ignore[arg-type]
