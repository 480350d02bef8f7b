"""The WebAssembly text format (spec chapter 6): WAT modules and WAST scripts.

`_lexer` reads the S-expression tree, `_numbers` the numeric literals, `_types` the types,
`_instructions` function bodies and `_module` module fields; `script` parses .wast scripts,
`wast` runs them, `wat` is `wat2wasm`. The parsers are imported on first use, so
`import wasmcore` does not pay for them."""

from __future__ import annotations

from typing import Any

__all__ = ["parse_module", "parse_script"]


def __getattr__(name: str) -> Any:
    if name == "parse_module":
        from wasmcore.text._module import parse_module as value
    elif name == "parse_script":
        from wasmcore.text.script import parse_script as value
    else:
        raise AttributeError(f"module 'wasmcore.text' has no attribute {name!r}")
    globals()[name] = value  # later lookups skip this function
    return value
