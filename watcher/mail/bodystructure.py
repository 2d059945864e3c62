"""What a BODYSTRUCTURE says: attachments, the part that holds the text, bounce report parts.

`describe_bodystructure` takes the BODYSTRUCTURE as `fetch.parse_fetch_response` parsed it
and returns a `BodyOutline`, so that the sync fetches only the text part it needs and never a
whole message. File names come from the part's MIME parameters (Content-Disposition
`filename`, else Content-Type `name`), with RFC 2231 and RFC 2047 undone. Server data never
makes it raise: garbage gives a best-effort outline, or an empty one. RFC 2047 words go
through `headers.decode_words`, the decoder a Maildir file's names take as well.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_to_bytes

from watcher.mail.fetch import Sexp
from watcher.mail.headers import decode_bytes, decode_words
from watcher.model import Attachment

__all__ = ["BodyOutline", "TextPart", "describe_bodystructure"]


# --- MIME parameters ---------------------------------------------------------------------


def _decode_rfc2231(value: str, *, with_charset: bool = True) -> tuple[bytes, str]:
    """Percent-decode an RFC 2231 extended value; returns (bytes, charset)."""
    charset = ""
    if with_charset and value.count("'") >= 2:
        charset, _lang, value = value.split("'", 2)
    return unquote_to_bytes(value), charset.strip().lower()


def _mime_param(params: dict[str, str], name: str) -> str:
    """The value of MIME parameter `name`, with RFC 2231 and RFC 2047 undone; "" if absent."""
    extended = params.get(name + "*")
    if extended is not None:
        raw, charset = _decode_rfc2231(extended)
        return decode_bytes(raw, charset)
    if name + "*0" in params or name + "*0*" in params:
        # Continuations, when the server passed them through undecoded (Dovecot joins them).
        pieces: list[tuple[int, bytes]] = []
        charset = ""
        prefix = name + "*"
        for key, val in params.items():
            if not key.startswith(prefix):
                continue
            index_s = key[len(prefix) :]
            encoded = index_s.endswith("*")
            index_s = index_s.rstrip("*")
            if not index_s.isdecimal():
                continue
            index = int(index_s)
            if encoded:
                piece, piece_charset = _decode_rfc2231(val, with_charset=index == 0)
                if index == 0:
                    charset = piece_charset
            else:
                piece = val.encode("utf-8")
            pieces.append((index, piece))
        pieces.sort()
        joined = b"".join(piece for _, piece in pieces)
        return decode_words(decode_bytes(joined, charset))
    plain = params.get(name)
    if plain is None:
        return ""
    return decode_words(plain)


def _param_dict(raw: object) -> dict[str, str]:
    """`("NAME" "x.pdf" "charset" "utf-8")` -> {"name": "x.pdf", "charset": "utf-8"}."""
    if not isinstance(raw, list):
        return {}
    out: dict[str, str] = {}
    for i in range(0, len(raw) - 1, 2):
        key, val = raw[i], raw[i + 1]
        if isinstance(key, str) and isinstance(val, str | int):
            out.setdefault(key.lower(), str(val))
    return out


# --- BODYSTRUCTURE ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TextPart:
    """The part holding the message text: fetch it with `BODY.PEEK[<section>]`."""

    section: str  # "1" for a single-part message, "1.2" etc. inside multiparts
    subtype: str  # "plain" or "html"
    encoding: str  # lower-case Content-Transfer-Encoding, e.g. "quoted-printable"
    charset: str  # lower-case, "us-ascii" when none was given
    size: int  # encoded size in bytes as the server reports it


@dataclass(frozen=True, slots=True)
class BodyOutline:
    """What the watcher needs from a BODYSTRUCTURE; all fields empty when it was garbage."""

    content_type: str = ""  # top-level lower-case "type/subtype"
    report_type: str = ""  # report-type of the first multipart/report, lower-case
    attachments: tuple[Attachment, ...] = ()
    text_part: TextPart | None = None
    # The first message/rfc822 (or message/global) or text/rfc822-headers (or
    # message/global-headers) part inside a multipart/report: the bounced message's headers.
    rfc822_headers_section: str = ""
    rfc822_headers_type: str = ""  # lower-case content type of that part, "" if none

    @property
    def rfc822_headers_fetch(self) -> str:
        """The section to put in `BODY.PEEK[...]` to get the bounced headers; "" if none.

        For an encapsulated message that is its `.HEADER`; a headers-only part is itself.
        """
        if not self.rfc822_headers_section:
            return ""
        if self.rfc822_headers_type in _MESSAGE_TYPES:
            return self.rfc822_headers_section + ".HEADER"
        return self.rfc822_headers_section


_MESSAGE_TYPES = frozenset({"message/rfc822", "message/global"})
_HEADER_TYPES = frozenset({"text/rfc822-headers", "message/global-headers"})
_REPORT_PARTS = _MESSAGE_TYPES | _HEADER_TYPES
_DISPOSITION_TYPES = frozenset({"attachment", "inline"})
# Real messages nest a handful of levels; the cap only protects the recursion from garbage.
_MAX_DEPTH = 40
_EMPTY_OUTLINE = BodyOutline()

# One non-multipart part, in MIME order: (section, content_type, node, disposition, filename).
_Leaf = tuple[str, str, list[Any], str, str]


def _lower_str(value: object, default: str = "") -> str:
    if isinstance(value, str):
        return value.lower()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace").lower()
    return default


def _as_int(value: object) -> int:
    if value.__class__ is int:
        return value
    if isinstance(value, str) and value.strip().isdecimal():
        return int(value)
    return 0


def _looks_like_disposition(value: object) -> bool:
    if isinstance(value, str):
        # Some servers send a bare disposition type instead of `("attachment" (...))`.
        return value.lower() in _DISPOSITION_TYPES
    return (
        isinstance(value, list)
        and len(value) in (1, 2)
        and isinstance(value[0], str)
        and (len(value) == 1 or value[1] is None or isinstance(value[1], list))
    )


def _disposition_of(node: list[Any], expected: int) -> tuple[str, dict[str, str]]:
    """The body-fld-dsp of a single part: where RFC 3501 puts it or, failing that, the first
    thing in the extension data shaped like one (servers differ on `lines` and `md5`)."""
    candidate: object = node[expected] if expected < len(node) else None
    if candidate is None:
        # NIL where RFC 3501 puts it; a list just before is a disposition shifted by a missing
        # `lines` (md5, which would be there otherwise, is a string).
        before = node[expected - 1] if expected - 1 < len(node) else None
        if before.__class__ is list and _looks_like_disposition(before):
            candidate = before
    elif not _looks_like_disposition(candidate):
        candidate = next((v for v in node[7:] if _looks_like_disposition(v)), None)
    if candidate.__class__ is list:
        dsp: list[Any] = candidate
        return _lower_str(dsp[0]), _param_dict(dsp[1]) if len(dsp) > 1 else {}
    if isinstance(candidate, str):
        return candidate.lower(), {}
    return "", {}


def _named(params: object, name: str) -> str:
    """`_mime_param` for a raw parameter list, skipping the dict when no key could match."""
    if params.__class__ is not list:
        return ""
    raw: list[Any] = params
    width = len(name)
    for i in range(0, len(raw) - 1, 2):
        key = raw[i]
        if key.__class__ is str and key[:width].lower() == name:
            return _mime_param(_param_dict(raw), name)
    return ""


def _walk(
    node: list[Any],
    section: str,
    in_report: bool,
    depth: int,
    leaves: list[_Leaf],
    found: list[str],
) -> str:
    """Record `node`'s leaves in `leaves` and report facts in `found`; returns its content type.

    `found` is [report_type, headers_section, headers_type], filled by the first match.
    """
    if node[0].__class__ is list:
        count = 1
        while count < len(node) and node[count].__class__ is list:
            count += 1
        subtype = _lower_str(node[count], "mixed") if count < len(node) else "mixed"
        if subtype == "report":
            in_report = True
            if not found[0] and count + 1 < len(node):
                found[0] = _param_dict(node[count + 1]).get("report-type", "").strip().lower()
        if depth < _MAX_DEPTH:
            prefix = section + "." if section else ""
            for index in range(count):
                child = node[index]
                if child:
                    _walk(child, f"{prefix}{index + 1}", in_report, depth + 1, leaves, found)
        return "multipart/" + subtype
    section = section or "1"
    size = len(node)
    # Missing or empty ("" from Dovecot for `Content-Type: text`) means RFC 2045's default.
    main = _lower_str(node[0]) or "text"
    subtype = _lower_str(node[1]) if size > 1 else ""
    content_type = f"{main}/{subtype or ('plain' if main == 'text' else 'octet-stream')}"
    if main == "text":
        expected = 9  # lines at 7, md5 at 8
    elif content_type in _MESSAGE_TYPES and size > 8 and node[7].__class__ is list:
        expected = 11  # envelope, body, lines, md5
    else:
        expected = 8  # md5 at 7
    disposition = ""
    filename = ""
    if size > 7:
        disposition, dsp_params = _disposition_of(node, expected)
        if dsp_params:
            filename = _mime_param(dsp_params, "filename")
    if not filename and size > 2:
        filename = _named(node[2], "name")
    leaves.append((section, content_type, node, disposition, filename))
    if in_report and not found[1] and content_type in _REPORT_PARTS:
        found[1] = section
        found[2] = content_type
    # An encapsulated message is one attachment: its insides are not ours to describe.
    return content_type


def _pick_text(leaves: list[_Leaf]) -> _Leaf | None:
    """The first unnamed, not-attached text/plain, else text/html; failing both, the first
    named one that is not `Content-Disposition: attachment` (some clients name the body)."""
    for named in (False, True):
        for wanted in ("text/plain", "text/html"):
            for leaf in leaves:
                if leaf[1] == wanted and leaf[3] != "attachment" and (named or not leaf[4]):
                    return leaf
    return None


def _text_part(leaf: _Leaf) -> TextPart:
    node = leaf[2]
    size = len(node)
    charset = "us-ascii"
    if size > 2 and node[2].__class__ is list:
        charset = _param_dict(node[2]).get("charset", "").strip().lower() or charset
    return TextPart(
        section=leaf[0],
        subtype=leaf[1][5:],
        encoding=(_lower_str(node[5]) if size > 5 else "") or "7bit",
        charset=charset,
        size=_as_int(node[6]) if size > 6 else 0,
    )


def _plain_text_outline(structure: list[Sexp]) -> BodyOutline | None:
    """The commonest message, one unnamed text/plain or text/html part, without the full walk.

    None for anything else (or anything odd): the general walk then decides.
    """
    if len(structure) < 7 or structure[0].__class__ is not str:
        return None
    main, subtype, params, encoding, size = (
        structure[0],
        structure[1],
        structure[2],
        structure[5],
        structure[6],
    )
    if not (isinstance(main, str) and isinstance(subtype, str) and main.lower() == "text"):
        return None
    subtype = subtype.lower()
    if subtype not in ("plain", "html") or (len(structure) > 9 and structure[9] is not None):
        return None  # a Content-Disposition may name it an attachment: walk it properly
    charset = "us-ascii"
    if params is not None:
        if not isinstance(params, list):
            return None
        for index in range(0, len(params) - 1, 2):
            key, value = params[index], params[index + 1]
            if not isinstance(key, str) or not isinstance(value, str):
                return None
            key = key.lower()
            if key.startswith("name"):
                return None
            if key == "charset":
                charset = value.lower()
    part = TextPart(
        section="1",
        subtype=subtype,
        encoding=encoding.lower() if isinstance(encoding, str) else "7bit",
        charset=charset,
        size=size if isinstance(size, int) else 0,
    )
    return BodyOutline(content_type=f"text/{subtype}", text_part=part)


def describe_bodystructure(structure: object) -> BodyOutline:
    """Summarise a BODYSTRUCTURE as parsed by `parse_fetch_response`; never raises.

    Attachments: every part with a filename (Content-Disposition `filename`/`filename*`, else
    Content-Type `name`/`name*`, RFC 2231 and RFC 2047 decoded), plus every non-text,
    non-multipart part without one (filename ""), in MIME order, minus the text part. That
    includes parts such as message/delivery-status. An encapsulated message/rfc822 counts as
    one attachment and is not descended into, neither for attachments nor for the text part.

    The text part: the first text/plain that is neither named nor `attachment`, else such a
    text/html; failing both, the first named text/plain or text/html that is not
    `attachment` (a message whose only text is `inline; filename=msg.txt`).

    Garbage gives a best-effort outline, or an empty one.
    """
    if not isinstance(structure, list) or not structure:
        return _EMPTY_OUTLINE
    simple = _plain_text_outline(structure)
    return simple if simple is not None else _full_outline(structure)


def _full_outline(structure: list[Sexp]) -> BodyOutline:
    try:
        leaves: list[_Leaf] = []
        found = ["", "", ""]
        content_type = _walk(structure, "", False, 0, leaves, found)
        chosen = _pick_text(leaves)
        attachments = tuple(
            Attachment(
                filename=leaf[4],
                content_type=leaf[1],
                size=_as_int(leaf[2][6]) if len(leaf[2]) > 6 else 0,
            )
            for leaf in leaves
            if leaf is not chosen and (leaf[4] or not leaf[1].startswith("text/"))
        )
        return BodyOutline(
            content_type=content_type,
            report_type=found[0],
            attachments=attachments,
            text_part=None if chosen is None else _text_part(chosen),
            rfc822_headers_section=found[1],
            rfc822_headers_type=found[2],
        )
    except Exception:  # garbage from a server must not stop the sync; report nothing instead
        return _EMPTY_OUTLINE
