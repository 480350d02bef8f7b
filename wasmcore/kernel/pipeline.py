"""The only place the order of a module's stages is written down (wazero's `CompileModule`):
decode -> validate -> compile -> publish, with the compiled-code cache and AOT artifacts as
the two ways around the middle. `Module()`, `Module.validate`, `Module.deserialize`,
`Engine.precompile_module` and the cache all come through here."""

from __future__ import annotations

import time
from typing import Any

from wasmcore.errors import DecodeError, ValidationError, WasmcoreError
from wasmcore.kernel.log import get_logger
from wasmcore.plugin import PublishedFunction
from wasmcore.syntax.types import DecodedModule

log = get_logger("wasmcore.pipeline")


def _as_input(wasm: Any) -> bytes | str:
    if isinstance(wasm, str):
        return wasm
    if isinstance(wasm, (bytes, bytearray, memoryview)):
        return bytes(wasm)
    raise TypeError(f"expected bytes or str, got {type(wasm).__name__}")


def read(engine, wasm: Any) -> DecodedModule:
    """Decode and validate. A module that would be valid but for a proposal the engine's
    backend lacks is refused with a WasmcoreError naming that proposal and the backend."""
    data = _as_input(wasm)
    plugins = engine.plugins
    try:
        decoded = plugins.decode(engine, data)
        plugins.validate(engine, decoded)
    except (DecodeError, ValidationError) as error:
        needed = _needed_backend_features(engine, data)
        if needed:
            raise WasmcoreError(
                f"module needs the {', '.join(needed)} feature{'s' if len(needed) > 1 else ''}, "
                f"which backend {engine.backend.name!r} does not support ({error})") from None
        raise
    return decoded


def _needed_backend_features(engine, data: bytes | str) -> list[str]:
    """Which of the proposals turned off for the backend would make `data` readable (tried
    only on the error path, one proposal at a time, then all together)."""
    import msgspec

    from wasmcore.kernel.builtins import read_with_features

    off = sorted(engine.features_off_for_backend)
    if not off:
        return []
    base = engine.config.features
    one_each = [name for name in off
                if read_with_features(engine, data, msgspec.structs.replace(base, **{name: True}))]
    if one_each:
        return one_each
    everything = msgspec.structs.replace(base, **{name: True for name in off})
    return off if read_with_features(engine, data, everything) else []


def compile(engine, decoded: DecodedModule) -> Any:
    """Compile a validated module with the engine's backend and publish its code."""
    started = time.perf_counter()
    compiled = engine.plugins.compile(engine, decoded)
    _check(engine, compiled)
    log.debug("module.compiled", module=decoded.id[:12], backend=engine.backend.name,
              seconds=round(time.perf_counter() - started, 6))
    publish(engine, decoded, compiled)
    return compiled


def _check(engine, compiled: Any) -> None:
    if compiled is None:
        raise WasmcoreError(f"backend {engine.backend.name!r} did not compile the module")
    if getattr(compiled, "backend", None) != engine.backend.name:
        raise WasmcoreError(f"backend {engine.backend.name!r} returned a module compiled by "
                            f"{getattr(compiled, 'backend', None)!r}")


def publish(engine, decoded: DecodedModule, compiled: Any) -> None:
    functions = getattr(compiled, "published_functions", None)
    if functions is not None:
        engine.plugins.code_published(engine, decoded, functions())


def load(engine, wasm: Any) -> tuple[DecodedModule, Any]:
    """`Module(engine, wasm)`: through the compiled-code cache when `config.cache` is set."""
    data = _as_input(wasm)
    cache = None
    if engine.config.cache:
        from wasmcore.kernel.cache import CodeCache

        cache = CodeCache(engine)
        key = data.encode("utf-8") if isinstance(data, str) else data
        encoded = cache.read(key)
        if encoded is not None:
            try:
                return deserialize(engine, encoded)
            except WasmcoreError as error:  # stale or corrupt: recompile and replace it
                cache.discard(key, error)
    decoded = read(engine, data)
    compiled = compile(engine, decoded)
    if cache is not None:
        from wasmcore.kernel.artifact import serialize

        try:
            cache.write(key, serialize(engine, decoded, compiled))
        except WasmcoreError as error:  # a backend that cannot serialize only costs the saving
            log.debug("cache.unwritable", error=str(error))
    return decoded, compiled


def precompile(engine, wasm: Any) -> bytes:
    """`Engine.precompile_module`: an artifact for `config.target` (or the host)."""
    from wasmcore.kernel.artifact import serialize

    decoded = read(engine, wasm)
    return serialize(engine, decoded, compile(engine, decoded))


def deserialize(engine, encoded: Any) -> tuple[DecodedModule, Any]:
    """`Module.deserialize` and cache hits: the header is checked, the module is trusted (it
    was validated when the artifact was made), and the backend reloads its payload or, if it
    keeps none, compiles again."""
    from wasmcore.kernel.artifact import load_artifact

    artifact = load_artifact(engine, encoded)
    plugins = engine.plugins
    compiled = plugins.deserialize(engine, artifact.module, artifact.header.backend,
                                   artifact.payload, artifact.header)
    if compiled is None:
        return artifact.module, compile(engine, artifact.module)
    _check(engine, compiled)
    publish(engine, artifact.module, compiled)
    return artifact.module, compiled


def function_name(decoded: DecodedModule, index: int) -> str:
    """A function's name for profiles and backtraces: the name section's, or Wasmtime's
    `wasm-function[N]`."""
    return decoded.names.functions.get(index) or f"wasm-function[{index}]"


__all__ = ["read", "compile", "publish", "load", "precompile", "deserialize", "function_name",
           "PublishedFunction"]
