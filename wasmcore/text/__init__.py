"""The WebAssembly text format: WAT modules and WAST scripts."""

from __future__ import annotations

from wasmcore.text._parser import parse_module
from wasmcore.text.script import parse_script

__all__ = ["parse_module", "parse_script"]
