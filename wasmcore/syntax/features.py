"""Which WebAssembly proposals are enabled; set from Config (`config.wasm_simd = True`...)."""

from __future__ import annotations

import msgspec


class WasmFeatures(msgspec.Struct, frozen=True, kw_only=True):
    """Feature flags the decoder and validator consult. The defaults are Wasm 2.0."""

    # Wasm 2.0 (on by default)
    mutable_globals: bool = True
    sign_extension: bool = True
    saturating_float_to_int: bool = True
    multi_value: bool = True
    bulk_memory: bool = True
    reference_types: bool = True
    simd: bool = True
    # Wasm 3.0 and later proposals (off by default)
    tail_call: bool = False
    multi_memory: bool = False
    memory64: bool = False
    extended_const: bool = False
    function_references: bool = False
    gc: bool = False
    exceptions: bool = False
    relaxed_simd: bool = False
    threads: bool = False


WASM_2_0 = WasmFeatures()
