"""The compiled-module artifact (`Module.serialize`, `Engine.precompile_module`, `.cwasm` files):
a msgspec header that must match the loading engine, the decoded module, and the backend's
payload (object code for a native backend). See docs/artifacts.md."""

from __future__ import annotations

import hashlib
import platform

import msgspec

from wasmcore.errors import WasmcoreError
from wasmcore.kernel.version import __version__
from wasmcore.syntax.types import DecodedModule

MAGIC = b"WASMCORE"
FORMAT_VERSION = 2
ANY_TARGET = "any"  # the artifact of a target-independent backend (interp) loads anywhere

_ARCH_ALIASES = {"amd64": "x86_64", "x64": "x86_64", "arm64": "aarch64", "i686": "x86", "i386": "x86"}


class ArtifactHeader(msgspec.Struct, frozen=True):
    format_version: int
    wasmcore_version: str
    backend: str
    target: str  # a normalized triple (arch-vendor-os-env), or "any"
    cpu_features: str  # what the code may use (e.g. "+avx2,+sse4.2"); "" if not machine code
    config_fingerprint: str


class _Envelope(msgspec.Struct):
    header: dict


class Artifact(msgspec.Struct, frozen=True):
    header: ArtifactHeader
    module: DecodedModule
    payload: bytes = b""


def host_target() -> str:
    arch = platform.machine().lower()
    arch = _ARCH_ALIASES.get(arch, arch)
    system = platform.system().lower()
    if system == "darwin":
        return f"{arch}-apple-darwin"
    if system == "windows":
        return f"{arch}-pc-windows-msvc"
    return f"{arch}-unknown-{system}-gnu"


def normalize_target(triple: str) -> str:
    """`x86_64-linux`, `x86_64-unknown-linux-gnu` and `amd64-linux` name the same target."""
    parts = [p for p in triple.strip().lower().split("-") if p]
    if not parts:
        raise WasmcoreError(f"invalid target triple {triple!r}")
    arch = _ARCH_ALIASES.get(parts[0], parts[0])
    rest = parts[1:]
    if arch.startswith("pulley"):
        return arch
    systems = ("linux", "darwin", "windows", "macos", "freebsd", "wasi", "none")
    system = next((p for p in rest if p in systems), None)
    if system is None:
        raise WasmcoreError(f"invalid target triple {triple!r}: no operating system "
                            f"(expected one of {', '.join(systems)})")
    if system in ("darwin", "macos"):
        return f"{arch}-apple-darwin"
    if system == "windows":
        return f"{arch}-pc-windows-msvc"
    env = rest[-1] if rest and rest[-1] not in systems and rest[-1] != "unknown" else "gnu"
    return f"{arch}-unknown-{system}-{env}"


def engine_target(engine) -> str:
    """The target an engine compiles for: `config.target` or the host."""
    target = engine.config.target
    return normalize_target(target) if target else host_target()


def fingerprint(engine) -> str:
    """A hash of the settings that change generated code (and so must match on load)."""
    settings = engine.config
    backend_settings = settings.plugins.get(settings.backend, {})
    relevant = (settings.backend, settings.opt_level, settings.consume_fuel,
                settings.epoch_interruption, settings.max_wasm_stack, settings.features,
                sorted(backend_settings.items()))
    return hashlib.sha256(msgspec.msgpack.encode(relevant)).hexdigest()[:16]


def header_for(engine, compiled) -> ArtifactHeader:
    target = getattr(compiled, "target", None)
    return ArtifactHeader(FORMAT_VERSION, __version__, engine.config.backend,
                          normalize_target(target) if target else ANY_TARGET,
                          getattr(compiled, "cpu_features", "") or "", fingerprint(engine))


def serialize(engine, decoded: DecodedModule, compiled) -> bytes:
    payload = engine.plugins.serialize(engine, compiled) or b""
    return MAGIC + msgspec.msgpack.encode(Artifact(header_for(engine, compiled), decoded, payload))


def _check_header(engine, found: ArtifactHeader) -> None:
    def refuse(what: str, theirs, ours) -> None:
        raise WasmcoreError(f"compiled artifact is incompatible with this engine: it was made "
                            f"{what} {theirs!r}, this engine needs {ours!r}")

    if found.wasmcore_version != __version__:
        refuse("by wasmcore", found.wasmcore_version, __version__)
    if found.backend != engine.config.backend:
        refuse("for backend", found.backend, engine.config.backend)
    if found.target != ANY_TARGET and found.target != engine_target(engine):
        refuse("for target", found.target, engine_target(engine))
    if found.config_fingerprint != fingerprint(engine):
        refuse("with settings (fingerprint)", found.config_fingerprint, fingerprint(engine))


def load_artifact(engine, encoded: bytes) -> Artifact:
    """Decode an artifact and check its header against `engine` (kernel/pipeline.py then has
    the backend rebuild the compiled module)."""
    if not isinstance(encoded, (bytes, bytearray, memoryview)):
        raise TypeError(f"expected bytes, got {type(encoded).__name__}")
    encoded = bytes(encoded)
    if not encoded.startswith(MAGIC):
        raise WasmcoreError("not a wasmcore compiled artifact (bad magic)")
    body = encoded[len(MAGIC):]
    try:
        # The header alone first (the rest is skipped, not built): an artifact of another
        # format version may not decode as this version's Artifact.
        version = msgspec.msgpack.decode(body, type=_Envelope).header.get("format_version")
    except (msgspec.DecodeError, msgspec.ValidationError) as error:
        raise WasmcoreError(f"corrupt compiled artifact: {error}") from None
    if version != FORMAT_VERSION:
        raise WasmcoreError(f"compiled artifact has format version {version!r}; this wasmcore "
                            f"reads version {FORMAT_VERSION} (recompile it)")
    try:
        artifact = msgspec.msgpack.decode(body, type=Artifact)
    except (msgspec.DecodeError, msgspec.ValidationError) as error:
        raise WasmcoreError(f"corrupt compiled artifact: {error}") from None
    _check_header(engine, artifact.header)
    return artifact
