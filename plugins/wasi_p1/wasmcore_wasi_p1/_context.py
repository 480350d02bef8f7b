"""Per-store WASI state: the fd table (stdio, preopens as O_DIRECTORY fds, opened files) and
sandboxed path resolution. Kept in `store.stash["wasi"]`, built lazily from
`store.wasi_config`."""

from __future__ import annotations

import io
import os
import stat as _stat
import sys

from ._errno import (BADF, INVAL, LOOP, NAMETOOLONG, NOENT, NOTCAPABLE, NOTDIR,
                     WasiError, from_oserror)

STASH_KEY = "wasi"
MAX_SYMLINKS = 40

# filetype
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
    if _stat.S_ISREG(mode):
        return FT_FILE
    if _stat.S_ISDIR(mode):
        return FT_DIR
    if _stat.S_ISLNK(mode):
        return FT_SYMLINK
    if _stat.S_ISCHR(mode):
        return FT_CHAR
    if _stat.S_ISBLK(mode):
        return FT_BLOCK
    if _stat.S_ISSOCK(mode):
        return FT_STREAM
    return FT_UNKNOWN


class Entry:
    """One guest fd. `kind` is "dir", "file" or "stdio"."""

    def __init__(self, kind: str, host_fd: int | None = None, *, stream=None,
                 preopen: str | None = None, dir_perms: int = 3, file_perms: int = 3,
                 readable: bool = True, writable: bool = True, append: bool = False,
                 fdflags: int = 0, rights_base: int = RIGHTS_ALL,
                 rights_inheriting: int = RIGHTS_ALL):
        self.kind = kind
        self.host_fd = host_fd
        self.stream = stream  # for stdio: a Stdio object
        self.preopen = preopen
        self.dir_perms = dir_perms
        self.file_perms = file_perms
        self.readable = readable
        self.writable = writable
        self.append = append
        self.fdflags = fdflags
        self.rights_base = rights_base
        self.rights_inheriting = rights_inheriting
        self.dir_cache: list | None = None

    def close(self) -> None:
        if self.host_fd is not None and self.kind != "stdio":
            try:
                os.close(self.host_fd)
            except OSError:
                pass
        self.host_fd = None


class Stdio:
    """stdin/stdout/stderr per the config: in-memory bytes, null, capture, inherit or a file."""

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

    def filetype(self) -> int:
        if self.host_fd is not None:
            try:
                return filetype_of_mode(os.fstat(self.host_fd).st_mode)
            except OSError:
                pass
        return FT_CHAR

    def close(self) -> None:
        if self.mode == "file" and self.host_fd is not None:
            try:
                os.close(self.host_fd)
            except OSError:
                pass
            self.host_fd = None


def _stdin(cfg) -> Stdio:
    src = cfg.stdin_source if cfg is not None else ("bytes", b"")
    if src[0] == "bytes":
        return Stdio("bytes", data=src[1])
    if src[0] == "inherit":
        try:
            return Stdio("inherit", host_fd=sys.stdin.fileno())
        except (AttributeError, OSError, ValueError):
            return Stdio("null")
    if src[0] == "file":
        return Stdio("file", host_fd=os.open(src[1], os.O_RDONLY))
    return Stdio("null")


def _sink(cfg, which: str) -> Stdio:
    sink = getattr(cfg, f"{which}_sink", ("null",)) if cfg is not None else ("null",)
    if sink[0] == "capture":
        return Stdio("capture", buffer=getattr(cfg, f"_{which}_buf"))
    if sink[0] == "custom":
        return Stdio("custom", callback=sink[1])
    if sink[0] == "inherit":
        return Stdio("inherit", pystream=getattr(sys, which))
    if sink[0] == "file":
        return Stdio("file", host_fd=os.open(sink[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644))
    return Stdio("null")


class Context:
    def __init__(self, cfg) -> None:
        self.cfg = cfg
        self.argv = [a.encode() for a in (cfg.argv if cfg is not None else [])]
        self.env = [f"{k}={v}".encode() for k, v in (cfg.env if cfg is not None else [])]
        self.fds: dict[int, Entry] = {}
        for fd, stream, readable in ((0, _stdin(cfg), True), (1, _sink(cfg, "stdout"), False),
                                     (2, _sink(cfg, "stderr"), False)):
            rights = STDIO_RIGHTS | (R_FD_READ if readable else R_FD_WRITE)
            self.fds[fd] = Entry("stdio", stream=stream, readable=readable,
                                 writable=not readable, rights_base=rights, rights_inheriting=0)
        for host, guest, dperms, fperms in (cfg.preopens if cfg is not None else []):
            host_fd = os.open(host, os.O_RDONLY | os.O_DIRECTORY)
            self.fds[len(self.fds)] = Entry("dir", host_fd, preopen=guest,
                                            dir_perms=int(dperms), file_perms=int(fperms),
                                            rights_base=DIR_RIGHTS,
                                            rights_inheriting=RIGHTS_ALL)
        self.exited = False

    # --- fd table ---------------------------------------------------------------------------
    def get(self, fd: int) -> Entry:
        entry = self.fds.get(fd)
        if entry is None:
            raise WasiError(BADF)
        return entry

    def get_dir(self, fd: int) -> Entry:
        entry = self.get(fd)
        if entry.kind != "dir":
            raise WasiError(NOTDIR)
        return entry

    def insert(self, entry: Entry) -> int:
        fd = 3
        while fd in self.fds:
            fd += 1
        self.fds[fd] = entry
        return fd

    def __del__(self) -> None:
        try:
            self.close_all()
        except Exception:
            pass

    def close_all(self) -> None:
        for entry in self.fds.values():
            if entry.kind == "stdio":
                entry.stream.close()
            else:
                entry.close()
        self.fds.clear()

    # --- sandboxed path resolution ------------------------------------------------------------
    def resolve(self, dir_entry: Entry, path: str, follow: bool) -> "Resolved":
        """Walk `path` from `dir_entry` component by component (O_NOFOLLOW, symlinks expanded
        here, never above the directory). Returns the parent directory's host fd and the final
        component's name ("." for the directory itself)."""
        if "\0" in path:
            raise WasiError(INVAL)
        if path == "":
            raise WasiError(NOENT)
        if path.startswith("/"):
            raise WasiError(NOTCAPABLE)
        if len(path) > 4096:
            raise WasiError(NAMETOOLONG)
        res = Resolved(dir_entry.host_fd)
        try:
            self._walk(res, path, follow, 0)
        except BaseException:
            res.close()
            raise
        return res

    def _walk(self, res: "Resolved", path: str, follow: bool, depth: int) -> None:
        trailing = path.endswith("/")
        parts = [p for p in path.split("/") if p]
        if trailing:
            res.must_be_dir = True
        if not parts:
            res.name = "."
            return
        for i, comp in enumerate(parts):
            last = i == len(parts) - 1
            if comp == ".":
                if last:
                    res.name = "."
                continue
            if comp == "..":
                res.pop()
                if last:
                    res.name = "."
                continue
            if len(comp.encode()) > 255:
                raise WasiError(NAMETOOLONG)
            try:
                st = os.lstat(comp, dir_fd=res.top)
            except FileNotFoundError:
                if last:
                    res.name = comp
                    return
                raise WasiError(NOENT) from None
            except OSError as exc:
                raise WasiError(from_oserror(exc)) from None
            if _stat.S_ISLNK(st.st_mode) and (not last or follow or trailing):
                if depth >= MAX_SYMLINKS:
                    raise WasiError(LOOP)
                target = os.readlink(comp, dir_fd=res.top)
                if target.startswith("/"):
                    raise WasiError(NOTCAPABLE)
                rest = "/".join(parts[i + 1:])
                joined = target + ("/" + rest if rest else "") + ("/" if trailing else "")
                self._walk(res, joined, follow, depth + 1)
                return
            if last:
                res.name = comp
                return
            if not _stat.S_ISDIR(st.st_mode):
                raise WasiError(NOTDIR)
            try:
                fd = os.open(comp, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=res.top)
            except OSError as exc:
                raise WasiError(from_oserror(exc)) from None
            res.push(fd)


class Resolved:
    """A resolution result: `parent` (host dir fd) + `name`; close() releases owned fds."""

    def __init__(self, root_fd: int):
        self.stack = [root_fd]
        self.owned: list[int] = []
        self.name = "."
        self.must_be_dir = False

    @property
    def top(self) -> int:
        return self.stack[-1]

    @property
    def parent(self) -> int:
        return self.stack[-1]

    def push(self, fd: int) -> None:
        self.stack.append(fd)
        self.owned.append(fd)

    def pop(self) -> None:
        if len(self.stack) <= 1:
            raise WasiError(NOTCAPABLE)
        fd = self.stack.pop()
        if fd in self.owned:
            self.owned.remove(fd)
            os.close(fd)

    def close(self) -> None:
        for fd in self.owned:
            try:
                os.close(fd)
            except OSError:
                pass
        self.owned.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def context_of(caller) -> Context:
    store = caller.store
    ctx = store.stash.get(STASH_KEY)
    if ctx is None:
        ctx = Context(getattr(store, "wasi_config", None))
        store.stash[STASH_KEY] = ctx
    return ctx
