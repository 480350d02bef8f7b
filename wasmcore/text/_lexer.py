"""The text format's reader: one compiled master regex splitting the source into atoms,
strings and parentheses, building an S-expression tree (`Node` lists, `WStr` strings, `str`
atoms). It lives in `wasmcore.text._parser` beside the module builder; this module re-exports
it under its conventional name."""

from wasmcore.text._parser import Node, WStr, decode_string, read_sexprs

__all__ = ["Node", "WStr", "decode_string", "read_sexprs"]
