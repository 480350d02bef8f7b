"""The compiled-module artifact (`Module.serialize` / `Module.deserialize`): a msgspec header
that must match the loading engine, the decoded module, and the backend's payload.
See docs/artifacts.md."""

from __future__ import annotations

import platform

import msgspec

import wasmcore
from wasmcore.errors import WasmcoreError
from wasmcore.syntax.types import DecodedModule

MAGIC = b"WASMCORE"
FORMAT_VERSION = 1


class ArtifactHeader(msgspec.Struct, frozen=True):
    format_version: int
    wasmcore_version: str
    backend: str
    target: str
    config_fingerprint: str


class Artifact(msgspec.Struct, frozen=True):
    header: ArtifactHeader
    module: DecodedModule
    payload: bytes = b""


def _host_target() -> str:
    return f"{platform.machine()}-{platform.system().lower()}"


def fingerprint(engine) -> str:
    import hashlib

    settings = engine.config
    relevant = (settings.backend, settings.opt_level, settings.consume_fuel,
                settings.epoch_interruption, settings.max_wasm_stack, settings.features)
    return hashlib.sha256(msgspec.msgpack.encode(relevant)).hexdigest()[:16]


def header_for(engine) -> ArtifactHeader:
    return ArtifactHeader(FORMAT_VERSION, wasmcore.__version__, engine.config.backend,
                          engine.config.target or _host_target(), fingerprint(engine))


def serialize(module) -> bytes:
    engine = module.engine
    payload = engine.plugins.serialize(engine, module._compiled) or b""
    return MAGIC + msgspec.msgpack.encode(Artifact(header_for(engine), module._module, payload))


def deserialize(engine, encoded: bytes):
    from wasmcore._module import Module

    if not bytes(encoded[:len(MAGIC)]) == MAGIC:
        raise WasmcoreError("not a wasmcore compiled artifact (bad magic)")
    try:
        artifact = msgspec.msgpack.decode(bytes(encoded[len(MAGIC):]), type=Artifact)
    except msgspec.DecodeError as error:
        raise WasmcoreError(f"corrupt compiled artifact: {error}") from None
    expected, found = header_for(engine), artifact.header
    for field in ArtifactHeader.__struct_fields__:
        if getattr(found, field) != getattr(expected, field):
            raise WasmcoreError(f"compiled artifact is incompatible with this engine: {field} is "
                                f"{getattr(found, field)!r}, the engine needs {getattr(expected, field)!r}")
    compiled = engine.plugins.deserialize(engine, artifact.module, found.backend, artifact.payload)
    if compiled is None:  # the backend keeps no payload: compile the trusted, validated module
        compiled = engine.plugins.compile(engine, artifact.module)
    return Module._from_parts(engine, artifact.module, compiled)
