"""`WasiConfig`: per-store WASI configuration (wasmtime-py's `WasiConfig`, plus in-memory
stdin and captured stdout/stderr), and the `DirPerms` / `FilePerms` a preopened directory
grants. Read when a store first calls WASI, to build its `wasmcore.wasi.WasiContext`."""

from __future__ import annotations

import enum
import os
import sys
from typing import Iterable


class DirPerms(enum.IntFlag):
    READ_ONLY = 1
    WRITE_ONLY = 2
    READ_WRITE = 3


class FilePerms(enum.IntFlag):
    READ_ONLY = 1
    WRITE_ONLY = 2
    READ_WRITE = 3


class WasiConfig:
    def __init__(self) -> None:
        self._argv: list[str] = []
        self._env: list[tuple[str, str]] = []
        # stdio: ("null",) | ("inherit",) | ("file", path) | ("bytes", data) | ("capture",)
        self.stdin_source: tuple = ("bytes", b"")
        self.stdout_sink: tuple = ("null",)
        self.stderr_sink: tuple = ("null",)
        self._stdout_buf = bytearray()
        self._stderr_buf = bytearray()
        self.preopens: list[tuple[str, str, DirPerms, FilePerms]] = []

    # --- arguments and environment -------------------------------------------------------
    @property
    def argv(self) -> list[str]:
        return list(self._argv)

    @argv.setter
    def argv(self, value: Iterable[str]) -> None:
        self._argv = [str(v) for v in value]

    def inherit_argv(self) -> None:
        self._argv = list(sys.argv)

    @property
    def env(self) -> list[tuple[str, str]]:
        return list(self._env)

    @env.setter
    def env(self, value) -> None:
        items = value.items() if isinstance(value, dict) else value
        self._env = [(str(k), str(v)) for k, v in items]

    def inherit_env(self) -> None:
        self._env = list(os.environ.items())

    # --- stdio -----------------------------------------------------------------------------
    def inherit_stdin(self) -> None:
        self.stdin_source = ("inherit",)

    def inherit_stdout(self) -> None:
        self.stdout_sink = ("inherit",)

    def inherit_stderr(self) -> None:
        self.stderr_sink = ("inherit",)

    @property
    def stdin_file(self):
        return self.stdin_source[1] if self.stdin_source[0] == "file" else None

    @stdin_file.setter
    def stdin_file(self, path) -> None:
        self.stdin_source = ("file", os.fspath(path))

    @property
    def stdout_file(self):
        return self.stdout_sink[1] if self.stdout_sink[0] == "file" else None

    @stdout_file.setter
    def stdout_file(self, path) -> None:
        self.stdout_sink = ("file", os.fspath(path))

    @property
    def stderr_file(self):
        return self.stderr_sink[1] if self.stderr_sink[0] == "file" else None

    @stderr_file.setter
    def stderr_file(self, path) -> None:
        self.stderr_sink = ("file", os.fspath(path))

    @property
    def stdin_bytes(self) -> bytes | None:
        return self.stdin_source[1] if self.stdin_source[0] == "bytes" else None

    @stdin_bytes.setter
    def stdin_bytes(self, data) -> None:
        self.stdin_source = ("bytes", bytes(data))

    def capture_stdout(self) -> None:
        self.stdout_sink = ("capture",)
        self._stdout_buf = bytearray()

    def capture_stderr(self) -> None:
        self.stderr_sink = ("capture",)
        self._stderr_buf = bytearray()

    def stdout_custom(self, callback) -> None:
        """Call `callback(data: bytes)` for every write to stdout (wasmtime-py). It may return the
        number of bytes it consumed; None means all of them."""
        if not callable(callback):
            raise TypeError("expected a callable")
        self.stdout_sink = ("custom", callback)

    def stderr_custom(self, callback) -> None:
        """Like `stdout_custom`, for stderr."""
        if not callable(callback):
            raise TypeError("expected a callable")
        self.stderr_sink = ("custom", callback)

    def close(self) -> None:
        """Kept for wasmtime-py: a WasiConfig holds no native resources."""

    @property
    def stdout_captured(self) -> bytes:
        return bytes(self._stdout_buf)

    @property
    def stderr_captured(self) -> bytes:
        return bytes(self._stderr_buf)

    # --- preopened directories --------------------------------------------------------------
    def preopen_dir(self, path, guest_path: str, dir_perms: DirPerms = DirPerms.READ_WRITE,
                    file_perms: FilePerms = FilePerms.READ_WRITE) -> None:
        self.preopens.append((os.fspath(path), str(guest_path), DirPerms(dir_perms),
                              FilePerms(file_perms)))


__all__ = ["WasiConfig", "DirPerms", "FilePerms"]
