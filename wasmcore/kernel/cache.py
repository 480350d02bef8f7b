"""The compiled-code cache (`config.cache`): artifacts on disk keyed by the module's bytes and
everything that changes the code (wasmcore version, backend, target, settings fingerprint), so
a second `Module(engine, wasm)` of the same bytes skips decoding, validation and compilation.

A cache never breaks a run: unreadable, stale or corrupt entries are recompiled and replaced,
and a cache directory that cannot be written only costs the saving."""

from __future__ import annotations

import hashlib
import os
import tempfile
import tomllib
from pathlib import Path

from wasmcore.errors import WasmcoreError
from wasmcore.kernel.log import get_logger
from wasmcore.kernel.version import __version__

log = get_logger("wasmcore.cache")


def default_directory() -> str:
    """`config.cache = True` (and `wasmcore run` by default): $WASMCORE_CACHE_DIR, else
    $XDG_CACHE_HOME/wasmcore, else ~/.cache/wasmcore (wasmtime: ~/.cache/wasmtime)."""
    explicit = os.environ.get("WASMCORE_CACHE_DIR")
    if explicit:
        return explicit
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "wasmcore")


def cache_directory(setting: str) -> Path:
    """`config.cache` names a directory, or (as in wasmtime) a TOML file whose
    `[cache] directory` names one."""
    path = Path(setting).expanduser()
    if path.suffix == ".toml" and path.is_file():
        try:
            table = tomllib.loads(path.read_text()).get("cache", {})
        except (OSError, tomllib.TOMLDecodeError) as error:
            raise WasmcoreError(f"cannot read cache config {path}: {error}") from None
        directory = table.get("directory")
        if not isinstance(directory, str):
            raise WasmcoreError(f"cache config {path} has no [cache] directory = \"...\"")
        return Path(directory).expanduser()
    return path


class CodeCache:
    def __init__(self, engine):
        from wasmcore.kernel.artifact import engine_target, fingerprint

        settings = engine.config
        self.root = cache_directory(settings.cache) / f"wasmcore-{__version__}" / (
            f"{settings.backend}-{engine_target(engine)}-{fingerprint(engine)}")

    def _path(self, data: bytes) -> Path:
        return self.root / f"{hashlib.sha256(data).hexdigest()}.cwasm"

    def read(self, data: bytes) -> bytes | None:
        """The cached artifact of the module bytes `data`, or None."""
        path = self._path(data)
        try:
            encoded = path.read_bytes()
        except OSError:
            return None
        log.debug("cache.hit", path=str(path))
        return encoded

    def discard(self, data: bytes, reason: Exception) -> None:
        path = self._path(data)
        log.debug("cache.stale", path=str(path), error=str(reason))
        try:
            path.unlink()
        except OSError:
            pass

    def write(self, data: bytes, encoded: bytes) -> None:
        path = self._path(data)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Write then rename: a concurrent reader sees the whole artifact or none.
            fd, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
            with os.fdopen(fd, "wb") as file:
                file.write(encoded)
            os.replace(temporary, path)
            log.debug("cache.stored", path=str(path), bytes=len(encoded))
        except OSError as error:
            log.debug("cache.unwritable", path=str(path), error=str(error))
