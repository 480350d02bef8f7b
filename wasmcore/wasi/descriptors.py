"""Open descriptors and the table that numbers them, for every WASI ABI: a `Descriptor` is a
host fd (a directory or a file) or one of the configured stdio streams, with the permissions
of the preopen it came from; `DescriptorTable` maps numbers to them (preview 1's fds, or a
preview 2 host's resource representations).

What a descriptor means to one ABI (preview 1's rights and fdflags, a readdir cursor) lives in
that ABI's subclass of `Descriptor`.
"""

from __future__ import annotations

import io
import os
import sys

from wasmcore.wasi.config import DirPerms, FilePerms
from wasmcore.wasi.errors import ErrorKind, SandboxError

# Descriptor.kind
DIRECTORY, FILE, STDIO = "dir", "file", "stdio"


class Stdio:
    """stdin, stdout or stderr as the WasiConfig says: in-memory bytes ("bytes"), discarded
    ("null"), captured into the config's buffer ("capture"), a callback ("custom"), the host
    process's own stream ("inherit") or a host file ("file")."""

    def __init__(self, mode: str, *, data: bytes = b"", buffer: bytearray | None = None,
                 host_fd: int | None = None, pystream=None, callback=None):
        self.mode = mode
        self.callback = callback
        self.input = io.BytesIO(data) if mode == "bytes" else None
        self.buffer = buffer
        self.host_fd = host_fd
        self.pystream = pystream

    def read(self, n: int) -> bytes:
        if self.mode == "bytes":
            return self.input.read(n)
        if self.host_fd is not None:
            return os.read(self.host_fd, n)
        return b""

    def write(self, data: bytes) -> int:
        """Returns the number of bytes taken (a custom callback may take fewer)."""
        if self.mode == "capture":
            self.buffer.extend(data)
        elif self.mode == "custom":
            consumed = self.callback(bytes(data))
            return len(data) if consumed is None else max(0, min(int(consumed), len(data)))
        elif self.mode == "inherit":
            stream = self.pystream
            try:
                binary = stream.buffer
            except AttributeError:
                binary = None
            # Flush the text layer first so the guest's output interleaves with the host's.
            if binary is not None:
                stream.flush()
                binary.write(data)
                binary.flush()
            else:
                stream.write(data.decode("utf-8", "replace"))
                stream.flush()
        elif self.host_fd is not None:
            return os.write(self.host_fd, data)
        return len(data)

    def close(self) -> None:
        # Only a file the config named is ours; an inherited fd belongs to the host process.
        if self.mode == "file" and self.host_fd is not None:
            try:
                os.close(self.host_fd)
            except OSError:
                pass
            self.host_fd = None


def open_stdin(config) -> Stdio:
    source = config.stdin_source if config is not None else ("bytes", b"")
    if source[0] == "bytes":
        return Stdio("bytes", data=source[1])
    if source[0] == "inherit":
        try:
            return Stdio("inherit", host_fd=sys.stdin.fileno())
        except (AttributeError, OSError, ValueError):
            return Stdio("null")
    if source[0] == "file":
        return Stdio("file", host_fd=os.open(source[1], os.O_RDONLY))
    return Stdio("null")


def open_stdout(config) -> Stdio:
    return _open_sink(config, "stdout")


def open_stderr(config) -> Stdio:
    return _open_sink(config, "stderr")


def _open_sink(config, which: str) -> Stdio:
    sink = getattr(config, f"{which}_sink", ("null",)) if config is not None else ("null",)
    if sink[0] == "capture":
        return Stdio("capture", buffer=getattr(config, f"_{which}_buf"))
    if sink[0] == "custom":
        return Stdio("custom", callback=sink[1])
    if sink[0] == "inherit":
        return Stdio("inherit", pystream=getattr(sys, which))
    if sink[0] == "file":
        return Stdio("file", host_fd=os.open(sink[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
                                             0o644))
    return Stdio("null")


class Descriptor:
    """One open descriptor. `kind` is DIRECTORY or FILE (then `host_fd` is the host's fd) or
    STDIO (then `stream` is a Stdio). `preopen` is the guest path of a preopened directory,
    else None. `dir_perms` / `file_perms` are the preopen's, inherited by everything opened
    below it; `readable` / `writable` are the mode the file was opened in."""

    def __init__(self, kind: str, host_fd: int | None = None, *, stream: Stdio | None = None,
                 preopen: str | None = None, dir_perms: int = DirPerms.READ_WRITE,
                 file_perms: int = FilePerms.READ_WRITE, readable: bool = True,
                 writable: bool = True):
        self.kind = kind
        self.host_fd = host_fd
        self.stream = stream
        self.preopen = preopen
        self.dir_perms = dir_perms
        self.file_perms = file_perms
        self.readable = readable
        self.writable = writable

    def close(self) -> None:
        if self.kind == STDIO:
            self.stream.close()
            return
        if self.host_fd is not None:
            try:
                os.close(self.host_fd)
            except OSError:
                pass
        self.host_fd = None


class DescriptorTable:
    """Numbers -> open descriptors. New descriptors get the lowest free number at or above
    `first_free` (preview 1 keeps 0..2 for stdio even after they are closed)."""

    def __init__(self, first_free: int = 0):
        self.first_free = first_free
        self.entries: dict[int, Descriptor] = {}

    def __contains__(self, number: int) -> bool:
        return number in self.entries

    def __len__(self) -> int:
        return len(self.entries)

    def lookup(self, number: int) -> Descriptor | None:
        return self.entries.get(number)

    def get(self, number: int) -> Descriptor:
        descriptor = self.entries.get(number)
        if descriptor is None:
            raise SandboxError(ErrorKind.BAD_DESCRIPTOR, f"descriptor {number}")
        return descriptor

    def directory(self, number: int) -> Descriptor:
        """The descriptor `number`, which must be a directory (a path's starting point)."""
        descriptor = self.get(number)
        if descriptor.kind != DIRECTORY:
            raise SandboxError(ErrorKind.NOT_DIRECTORY, f"descriptor {number}")
        return descriptor

    def place(self, number: int, descriptor: Descriptor) -> None:
        """Put `descriptor` at `number`, closing whatever was there."""
        old = self.entries.get(number)
        if old is not None and old is not descriptor:
            old.close()
        self.entries[number] = descriptor

    def insert(self, descriptor: Descriptor) -> int:
        number = self.first_free
        while number in self.entries:
            number += 1
        self.entries[number] = descriptor
        return number

    def remove(self, number: int) -> Descriptor:
        """Take `number` out of the table (the caller closes it, or keeps it elsewhere)."""
        descriptor = self.get(number)
        del self.entries[number]
        return descriptor

    def renumber(self, source: int, target: int) -> None:
        """Move `source` to `target`, closing what `target` held; both must be open."""
        self.get(source)
        self.get(target)
        if source == target:
            return
        self.place(target, self.entries.pop(source))

    def close_all(self) -> None:
        for descriptor in self.entries.values():
            descriptor.close()
        self.entries.clear()


__all__ = ["DIRECTORY", "FILE", "STDIO", "Stdio", "open_stdin", "open_stdout", "open_stderr",
           "Descriptor", "DescriptorTable"]
