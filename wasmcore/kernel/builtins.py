"""The core's own plugins, registered through the same manager as any other: the binary and
text decoders and the validator (essential), the on-demand allocator, and the dispatchers that
turn the compile / instantiate / host-call / allocate / code-published hooks into calls on the
engine's chosen backend, allocator and profiler (`trylast` defaults other plugins can wrap)."""

from __future__ import annotations

import hashlib

from wasmcore.plugin import Allocation, Allocator, hookimpl



def looks_like_text(data) -> bool:
    """WAT starts with `(` or a comment after optional white space; anything else given as
    bytes is treated as a binary, so a truncated binary gets the binary decoder's reason."""
    if isinstance(data, str):
        return True
    head = bytes(data[:256]).lstrip()
    return head[:1] in (b"(", b";")


def read_with_features(engine, data, features) -> bool:
    """Would the core's decoders and validator accept `data` with `features`? (The pipeline
    asks this on its error path to name the proposal a backend lacks.)"""
    from wasmcore.errors import DecodeError, ValidationError

    try:
        if looks_like_text(data):
            from wasmcore.text import parse_module

            text = data if isinstance(data, str) else bytes(data).decode("utf-8")
            module = parse_module(text, features)
        else:
            from wasmcore.binary import decode_module

            module = decode_module(bytes(data), features)
        from wasmcore.valid import validate_module

        validate_module(module, features)
    except (DecodeError, ValidationError, UnicodeDecodeError):
        return False
    return True


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


class OnDemandAllocator(Allocator):
    """Wasmtime's default: every instance gets fresh memories and tables, freed with it."""

    name = "on-demand"

    def allocate(self, engine, store, module):
        from wasmcore.runtime import MemoryInstance, TableInstance

        limiter = store._limiter
        if limiter is not None:
            limiter.check_instance(store, module)
        return Allocation(
            memories=[MemoryInstance(memory_type, limiter) for memory_type in module.memories],
            tables=[TableInstance(table_type, None, limiter) for table_type in module.tables],
        )

    def release(self, engine, store, allocation):
        for memory in allocation.memories:
            memory.release()
        allocation.memories.clear()
        allocation.tables.clear()


class Registrations:
    @hookimpl
    def wasmcore_register_allocators(self, register):
        register(OnDemandAllocator())


class Dispatch:
    """The hooks' default answers: ask the engine's backend, allocator and profiler. Other
    plugins wrap these hooks to observe them (a wrapper sees every backend's work)."""

    @hookimpl(trylast=True)
    def wasmcore_compile(self, engine, module):
        return engine.backend.compile(engine, module)

    @hookimpl(trylast=True)
    def wasmcore_serialize(self, engine, compiled):
        return engine.backend.serialize(engine, compiled)

    @hookimpl(trylast=True)
    def wasmcore_deserialize(self, engine, module, backend, payload, header):
        if backend != engine.backend.name:
            return None
        return engine.backend.deserialize(engine, module, payload, header)

    @hookimpl(trylast=True)
    def wasmcore_instantiate(self, store, compiled, instance):
        return store.engine.backend.instantiate(store, compiled, instance)

    @hookimpl(trylast=True)
    def wasmcore_host_call(self, store, func, host, backend, instance):
        adapter = store.engine.backend.host_call(store, func, host, instance)
        return adapter if adapter is not None else func.invoke

    @hookimpl(trylast=True)
    def wasmcore_allocate(self, engine, store, module):
        return engine.allocator.allocate(engine, store, module)

    @hookimpl(trylast=True)
    def wasmcore_release(self, engine, store, allocation):
        engine.allocator.release(engine, store, allocation)
        return True

    @hookimpl
    def wasmcore_code_published(self, engine, module, functions):
        session = engine._profiler_session
        if session is not None:
            session.code_published(module, functions)


BUILTINS = (
    ("wasmcore.binary", BinaryDecoder()),
    ("wasmcore.text", TextDecoder()),
    ("wasmcore.valid", CoreValidator()),
    ("wasmcore.registrations", Registrations()),
    ("wasmcore.dispatch", Dispatch()),
)
