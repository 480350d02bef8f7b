"""The core's own plugins, registered through the same manager as any other: the binary and
text decoders and the validator (essential), the on-demand allocator and the generic host call
adapter (`trylast` defaults a plugin can override)."""

from __future__ import annotations

import hashlib

from wasmcore.plugin import Allocation, hookimpl



def looks_like_text(data) -> bool:
    """WAT starts with `(` or a comment after optional white space; anything else given as
    bytes is treated as a binary, so a truncated binary gets the binary decoder's reason."""
    if isinstance(data, str):
        return True
    head = bytes(data[:256]).lstrip()
    return head[:1] in (b"(", b";")


class BinaryDecoder:
    @hookimpl(trylast=True)
    def wasmcore_decode(self, engine, data):
        if looks_like_text(data):
            return None
        from wasmcore.binary import decode_module

        return decode_module(bytes(data), engine.config.features)


class TextDecoder:
    @hookimpl(trylast=True)
    def wasmcore_decode(self, engine, data):
        if not looks_like_text(data):
            return None
        if not isinstance(data, str):
            try:
                data = bytes(data).decode("utf-8")
            except UnicodeDecodeError:
                from wasmcore.errors import DecodeError

                raise DecodeError("input is neither a wasm binary (magic header not detected) "
                                  "nor UTF-8 text", 0) from None
        from wasmcore.binary import encode_module
        from wasmcore.text import parse_module
        import msgspec

        module = parse_module(data, engine.config.features)
        binary = encode_module(module)
        return msgspec.structs.replace(module, id=hashlib.sha256(binary).hexdigest())


class CoreValidator:
    @hookimpl
    def wasmcore_validate(self, engine, module):
        from wasmcore.valid import validate_module

        validate_module(module, engine.config.features)


class OnDemandAllocator:
    @hookimpl(trylast=True)
    def wasmcore_allocate(self, engine, store, module):
        from wasmcore.runtime import MemoryInstance, TableInstance

        limiter = store._limiter
        if limiter is not None:
            limiter.check_instance(store, module)
        return Allocation(
            memories=[MemoryInstance(memory_type, limiter) for memory_type in module.memories],
            tables=[TableInstance(table_type, None, limiter) for table_type in module.tables],
        )


class GenericHostCall:
    @hookimpl(trylast=True)
    def wasmcore_host_call(self, store, func, host, backend):
        return func.invoke


BUILTINS = (
    ("wasmcore.binary", BinaryDecoder()),
    ("wasmcore.text", TextDecoder()),
    ("wasmcore.valid", CoreValidator()),
    ("wasmcore.ondemand", OnDemandAllocator()),
    ("wasmcore.hostcall", GenericHostCall()),
)
