"""The text format's reader (spec 6.2 "Lexical Format", 6.3.3-6.3.5 strings, names,
identifiers): one compiled master regex splits the source into atoms, strings and parentheses
(skipping white space, line and nested block comments) and builds an S-expression tree of
`Node` lists, `WStr` strings and `str` atoms. The small token predicates the grammar modules
share (`head`, `is_id`, `name_of`) and the `unexpected` error for a token in the wrong place
live here too."""

from __future__ import annotations

import re
from typing import Any

from wasmcore.errors import DecodeError
from wasmcore.syntax import opcodes as op
from wasmcore.text._numbers import FLOAT_RE


class Node(list):
    """A parenthesised list, remembering its source span."""

    __slots__ = ("start", "end")


class WStr(bytes):
    """A string literal's bytes (escapes decoded)."""


_TOKEN = re.compile(
    r"""(?P<ws>[ \t\n\r]+|;;[^\n\r]*)
    |(?P<bc>\(;)
    |(?P<lp>\()
    |(?P<rp>\))
    |(?P<str>"(?:[^"\\]|\\.)*")
    |(?P<atom>[0-9A-Za-z!#$%&'*+\-./:<=>?@\\^_`|~]+)
    """,
    re.X | re.S,
)

_ESCAPE = re.compile(r"\\(?:([0-9a-fA-F]{2})|u\{([0-9a-fA-F](?:_?[0-9a-fA-F])*)\}|(.))", re.S)
_SIMPLE_ESCAPES = {"n": b"\n", "t": b"\t", "r": b"\r", '"': b'"', "'": b"'", "\\": b"\\"}


def decode_string(raw: str, pos: int = 0) -> bytes:
    """Decode a string literal's body (without quotes)."""
    if "\\" not in raw:
        return raw.encode("utf-8", "surrogateescape")
    out = bytearray()
    last = 0
    for m in _ESCAPE.finditer(raw):
        out += raw[last:m.start()].encode("utf-8", "surrogateescape")
        last = m.end()
        hex_byte, code_point, char = m.groups()
        if hex_byte is not None:
            out.append(int(hex_byte, 16))
        elif code_point is not None:
            code = int(code_point.replace("_", ""), 16)
            if code >= 0x110000 or 0xD800 <= code < 0xE000:  # not a Unicode scalar value
                raise DecodeError("malformed UTF-8 encoding", pos)
            out += chr(code).encode("utf-8")
        else:
            escaped = _SIMPLE_ESCAPES.get(char)
            if escaped is None:
                raise DecodeError("unknown operator: malformed string escape", pos)
            out += escaped
    out += raw[last:].encode("utf-8", "surrogateescape")
    return bytes(out)


def _skip_block_comment(text: str, pos: int) -> int:
    depth = 1
    n = len(text)
    while depth:
        open_at = text.find("(;", pos)
        close_at = text.find(";)", pos)
        if close_at < 0:
            raise DecodeError("unexpected end: unclosed comment", n)
        if 0 <= open_at < close_at:
            depth += 1
            pos = open_at + 2
        else:
            depth -= 1
            pos = close_at + 2
    return pos


def read_sexprs(text: str, lenient: bool = False) -> list:
    """Read all top-level S-expressions of `text`.

    With `lenient`, an unbalanced `)` ends the reading: the error is appended as the last
    item (a DecodeError) so a parser can report an earlier error first, as the reference
    interpreter (which parses while it reads) does.
    """
    match = _TOKEN.match
    previous = None
    top: list = []
    stack: list = []
    current = top
    pos = 0
    n = len(text)
    while pos < n:
        m = match(text, pos)
        if m is None:
            raise DecodeError("unexpected token", pos)
        kind = m.lastgroup
        end = m.end()
        if kind in ("atom", "str"):
            if previous is not None:  # `"a""b"` or `"a"b`: tokens need a separator
                raise DecodeError("unknown operator: tokens must be separated", pos)
            previous = kind
        else:
            previous = None
        if kind == "ws":
            pass
        elif kind == "lp":
            node = Node()
            node.start = pos
            current.append(node)
            stack.append(current)
            current = node
        elif kind == "rp":
            if not stack:
                error = DecodeError("unexpected token: unbalanced `)`", pos)
                if lenient:
                    top.append(error)
                    return top
                raise error
            current.end = end
            current = stack.pop()
        elif kind == "atom":
            current.append(m.group())
        elif kind == "str":
            current.append(WStr(decode_string(m.group()[1:-1], pos)))
        else:
            end = _skip_block_comment(text, end)
        pos = end
    if stack:
        raise DecodeError("unexpected end", n)
    return top


# --- token predicates shared by the grammar -------------------------------------------------


def head(item: Any) -> str | None:
    """The keyword opening a `(keyword ...)` node, or None."""
    if type(item) is Node and item and type(item[0]) is str:
        return item[0]
    return None


def is_id(item: Any) -> bool:
    return type(item) is str and item.startswith("$") and len(item) > 1


# Words the grammar knows: an atom outside this set is reported as an unknown operator.
_KEYWORDS = frozenset(op.BY_NAME) | frozenset("""
    module func param result type local export import table memory global elem data start
    block loop if then else end mut offset item declare funcref externref ref null extern
    binary quote shared i8x16 i16x8 i32x4 i64x2 f32x4 f64x2 nan:canonical nan:arithmetic
    i32 i64 f32 f64 v128
    """.split())


def unexpected(item: Any = None) -> DecodeError:
    """The error for `item` where the grammar expects something else (None: the end)."""
    if item is None:
        return DecodeError("unexpected token")
    if type(item) is str and item[:1] != "$" and item not in _KEYWORDS and \
            not FLOAT_RE.match(item) and "=" not in item:
        return DecodeError(f"unknown operator {item}")
    if type(item) is Node:
        return DecodeError(f"unexpected token: ({head(item) or '...'} ...)", item.start)
    return DecodeError(f"unexpected token: {item!r}")


def name_of(item: Any) -> str:
    """A name (spec 6.3.4): a string literal that must be valid UTF-8."""
    if type(item) is not WStr:
        raise unexpected(item)
    try:
        return item.decode("utf-8")
    except UnicodeDecodeError:
        raise DecodeError("malformed UTF-8 encoding") from None


__all__ = ["Node", "WStr", "decode_string", "head", "is_id", "name_of", "read_sexprs",
           "unexpected"]
