"""Per-store WASI preview 1 state: the core `WasiContext` (stdio, preopens, the descriptor table
and the sandbox live in `wasmcore.wasi`) plus what only preview 1 has: encoded argv and
environ, and per-fd rights, fdflags and readdir cursors (`Entry`). Kept in
`store.stash[WASI_CONTEXT]`, built lazily from `store.wasi_config`."""

from __future__ import annotations

import os
import stat

from wasmcore.wasi import WASI_CONTEXT, WasiContext, context_of_store
from wasmcore.wasi.descriptors import DIRECTORY, STDIO, Descriptor, Stdio

# filetype (typenames.witx)
FT_UNKNOWN, FT_BLOCK, FT_CHAR, FT_DIR, FT_FILE, FT_DGRAM, FT_STREAM, FT_SYMLINK = range(8)

RIGHTS_ALL = (1 << 30) - 1
R_FD_READ = 1 << 1
R_FD_SEEK = 1 << 2
R_FD_WRITE = 1 << 6
R_FD_TELL = 1 << 5
R_FD_FILESTAT_SET_SIZE = 1 << 22
R_PATH_OPEN = 1 << 13
R_PATH_CREATE_FILE = 1 << 10
R_PATH_FILESTAT_SET_SIZE = 1 << 19
# rights meaningful only for a regular file / only for a directory
FILE_RIGHTS = ((1 << 0) | R_FD_READ | R_FD_SEEK | (1 << 3) | (1 << 4) | R_FD_TELL | R_FD_WRITE
               | (1 << 7) | (1 << 8) | (1 << 21) | R_FD_FILESTAT_SET_SIZE | (1 << 23) | (1 << 27))
DIR_RIGHTS = RIGHTS_ALL & ~(R_FD_READ | R_FD_SEEK | R_FD_TELL | R_FD_WRITE | (1 << 7) | (1 << 8)
                            | R_FD_FILESTAT_SET_SIZE | (1 << 27) | (1 << 28) | (1 << 29))
STDIO_RIGHTS = (1 << 3) | (1 << 21) | (1 << 27)


def filetype_of_mode(mode: int) -> int:
    if stat.S_ISREG(mode):
        return FT_FILE
    if stat.S_ISDIR(mode):
        return FT_DIR
    if stat.S_ISLNK(mode):
        return FT_SYMLINK
    if stat.S_ISCHR(mode):
        return FT_CHAR
    if stat.S_ISBLK(mode):
        return FT_BLOCK
    if stat.S_ISSOCK(mode):
        return FT_STREAM
    return FT_UNKNOWN


def stdio_filetype(stream: Stdio) -> int:
    """A stdio stream backed by a host fd is whatever that fd is; the others act as a tty."""
    if stream.host_fd is not None:
        try:
            return filetype_of_mode(os.fstat(stream.host_fd).st_mode)
        except OSError:
            pass
    return FT_CHAR


class Entry(Descriptor):
    """One guest fd: a core Descriptor plus its rights, fdflags and readdir cursor."""

    def __init__(self, kind: str, host_fd: int | None = None, *, fdflags: int = 0,
                 rights_base: int = RIGHTS_ALL, rights_inheriting: int = RIGHTS_ALL, **common):
        super().__init__(kind, host_fd, **common)
        self.fdflags = fdflags
        self.rights_base = rights_base
        self.rights_inheriting = rights_inheriting
        self.dir_cache: list | None = None  # fd_readdir's listing, indexed by cookie


class Context(WasiContext):
    def __init__(self, cfg) -> None:
        self.argv = [a.encode() for a in (cfg.argv if cfg is not None else [])]
        self.env = [f"{k}={v}".encode() for k, v in (cfg.env if cfg is not None else [])]
        super().__init__(cfg)

    def stdio_descriptor(self, number: int, stream: Stdio) -> Entry:
        readable = number == 0
        rights = STDIO_RIGHTS | (R_FD_READ if readable else R_FD_WRITE)
        return Entry(STDIO, stream=stream, readable=readable, writable=not readable,
                     rights_base=rights, rights_inheriting=0)

    def preopen_descriptor(self, host_fd: int, guest_path: str, dir_perms: int,
                           file_perms: int) -> Entry:
        return Entry(DIRECTORY, host_fd, preopen=guest_path, dir_perms=dir_perms,
                     file_perms=file_perms, rights_base=DIR_RIGHTS, rights_inheriting=RIGHTS_ALL)


def context_of(caller) -> Context:
    return context_of_store(caller.store, Context)


__all__ = ["WASI_CONTEXT", "Context", "Entry", "context_of", "filetype_of_mode",
           "stdio_filetype"]
