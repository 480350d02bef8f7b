"""The binary format: `decode_module` (bytes -> DecodedModule) and `encode_module` (the reverse)
(https://webassembly.github.io/spec/core/binary/index.html).

Decoding raises only `DecodeError`, whose message is the spec testsuite's wording and whose
`offset` is the byte offset in the input. Bounds from `wasmcore.kernel.limits` keep hostile input from
exhausting memory or time.
"""

from __future__ import annotations

from wasmcore.binary._decoder import decode
from wasmcore.binary._encoder import encode
from wasmcore.errors import DecodeError
from wasmcore.syntax.features import WASM_2_0, WasmFeatures
from wasmcore.syntax.types import DecodedModule

__all__ = ["decode_module", "encode_module"]


def decode_module(data: bytes, features: WasmFeatures = WASM_2_0) -> DecodedModule:
    """Decode a binary module. Its `id` is the sha256 hex digest of `data`.

    Custom sections are kept in `customs`, except a well-formed "name" section, which is
    decoded into `names` instead (a malformed one is kept as an ordinary custom section).
    """
    if not isinstance(data, bytes):
        data = bytes(data)
    try:
        return decode(data, features)
    except DecodeError:
        raise
    except (KeyError, ValueError, TypeError, OverflowError, RecursionError, MemoryError) as exc:
        # Last resort: a decoder bug must still surface as a malformed module, never a crash.
        raise DecodeError(f"malformed module ({type(exc).__name__}: {exc})", None) from exc


def encode_module(module: DecodedModule) -> bytes:
    """Encode a module: minimal LEB128, sections in spec order, deterministic output.

    The name section is generated from `module.names` when that is not empty (replacing any
    "name" entry of `customs`); other custom sections follow verbatim, after the data section.
    `decode_module(encode_module(m))` equals `m` except for `id` and the body offsets.
    """
    return encode(module)
