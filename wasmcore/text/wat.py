"""`wat2wasm`: WAT text to a binary module, through the core's text parser and encoder."""

from __future__ import annotations


def wat2wasm(wat: str | bytes) -> bytes:
    from wasmcore.binary import encode_module
    from wasmcore.text import parse_module

    if isinstance(wat, (bytes, bytearray)):
        wat = bytes(wat).decode("utf-8")
    return encode_module(parse_module(wat))
