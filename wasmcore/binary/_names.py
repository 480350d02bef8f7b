"""The "name" custom section: module, function and local names
(https://webassembly.github.io/spec/core/appendix/custom.html#name-section).

Decoding never fails a module: a malformed name section makes `decode_names` return None and
the decoder keeps the section as an ordinary custom section.
"""

from __future__ import annotations

from wasmcore.binary._leb import encode_name, encode_u32
from wasmcore.binary._reader import Reader
from wasmcore.errors import DecodeError
from wasmcore.syntax.types import Names

_MODULE, _FUNCTIONS, _LOCALS = 0, 1, 2


def _name_map(r: Reader) -> dict[int, str]:
    names = {}
    for _ in range(r.len32()):
        index = r.u32()
        names[index] = r.name()
    return names


def decode_names(payload: bytes) -> Names | None:
    """The decoded payload (the bytes after the section's name), or None if malformed."""
    r = Reader(payload)
    module = None
    functions: dict[int, str] = {}
    locals_: dict[int, dict[int, str]] = {}
    last_id = -1
    try:
        while r.pos < r.end:
            subsection = r.u8()
            if subsection <= last_id:  # subsections are unique and in increasing order
                return None
            last_id = subsection
            size = r.len32()
            end = r.pos + size
            if subsection == _MODULE:
                module = r.name()
            elif subsection == _FUNCTIONS:
                functions = _name_map(r)
            elif subsection == _LOCALS:
                for _ in range(r.len32()):
                    index = r.u32()
                    locals_[index] = _name_map(r)
            else:  # label, type, table... names: not kept
                r.skip(size)
            if r.pos != end:
                return None
    except (DecodeError, IndexError):
        return None
    return Names(module=module, functions=functions, locals=locals_)


def _encode_name_map(names: dict[int, str]) -> bytes:
    out = bytearray(encode_u32(len(names)))
    for index in sorted(names):
        out += encode_u32(index)
        out += encode_name(names[index])
    return bytes(out)


def encode_names(names: Names) -> bytes:
    """The payload of a name section (without the section's own name)."""
    out = bytearray()

    def subsection(subsection_id: int, content: bytes) -> None:
        out.append(subsection_id)
        out.extend(encode_u32(len(content)))
        out.extend(content)

    if names.module is not None:
        subsection(_MODULE, encode_name(names.module))
    if names.functions:
        subsection(_FUNCTIONS, _encode_name_map(names.functions))
    if names.locals:
        content = bytearray(encode_u32(len(names.locals)))
        for index in sorted(names.locals):
            content += encode_u32(index)
            content += _encode_name_map(names.locals[index])
        subsection(_LOCALS, bytes(content))
    return bytes(out)
