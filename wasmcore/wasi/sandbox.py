"""The WASI capability sandbox: resolving a guest path inside the directory descriptor it is
relative to, and the permissions a preopen grants. Shared by every WASI ABI.

A guest reaches the host file system only through directory descriptors it was given (the
preopens, and directories opened below them), each a capability for its own subtree. A path
is walked here one component at a time with `dir_fd`-relative, non-following host calls, so
the host kernel never resolves a guest-controlled path itself. The rules, as in Wasmtime
(cap-std): an absolute path, a `..` above the starting directory, or a symlink whose target is
absolute or climbs above it is NOT_CAPABLE; symlinks are expanded here, at most MAX_SYMLINKS
of them (then LOOP); a component longer than MAX_NAME_LENGTH bytes or a path longer than
MAX_PATH_LENGTH is NAME_TOO_LONG; going through a non-directory is NOT_DIRECTORY.
"""

from __future__ import annotations

import os
import stat

from wasmcore.wasi.config import DirPerms, FilePerms
from wasmcore.wasi.errors import ErrorKind, SandboxError

MAX_SYMLINKS = 40  # Linux's limit for one lookup
MAX_PATH_LENGTH = 4096  # PATH_MAX
MAX_NAME_LENGTH = 255  # NAME_MAX, in bytes


class Resolved:
    """Where a path led: the host directory fd `parent` and the final component `name` ("."
    for the directory itself), for the host's `*at(parent, name)` calls. `must_be_dir` is set
    by a trailing slash. Directories entered on the way are owned; close() (or `with`)
    releases them."""

    def __init__(self, root_fd: int):
        self.stack = [root_fd]  # the directories entered, root first; `..` pops
        self.owned: list[int] = []
        self.name = "."
        self.must_be_dir = False

    @property
    def parent(self) -> int:
        return self.stack[-1]

    @property
    def slashed_name(self) -> str:
        """The final component with its trailing slash kept (rename and link need it so the
        host checks that it is a directory; it is still one component, no traversal)."""
        if self.must_be_dir and self.name not in (".", ".."):
            return self.name + "/"
        return self.name

    def exists(self) -> bool:
        try:
            os.stat(self.name, dir_fd=self.parent, follow_symlinks=False)
            return True
        except OSError:
            return False

    def _enter(self, fd: int) -> None:
        self.stack.append(fd)
        self.owned.append(fd)

    def _leave(self) -> None:
        if len(self.stack) <= 1:
            raise SandboxError(ErrorKind.NOT_CAPABLE, "'..' above the directory")
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

    def __enter__(self) -> "Resolved":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def resolve(root_fd: int, path: str, follow: bool) -> Resolved:
    """Resolve `path` relative to the host directory `root_fd`, never leaving it. `follow`:
    whether a symlink as the final component is followed (an inner one always is, and so is
    a final one with a trailing slash). A missing final component is not an error (the caller
    may be creating it); a missing inner one is NO_ENTRY."""
    if "\0" in path:
        raise SandboxError(ErrorKind.INVALID, "NUL in a path")
    if path == "":
        raise SandboxError(ErrorKind.NO_ENTRY, "empty path")
    if path.startswith("/"):
        raise SandboxError(ErrorKind.NOT_CAPABLE, f"absolute path {path[:80]!r}")
    if len(path) > MAX_PATH_LENGTH:
        raise SandboxError(ErrorKind.NAME_TOO_LONG, f"path of {len(path)} characters")
    resolved = Resolved(root_fd)
    try:
        _walk(resolved, path, follow, 0)
    except BaseException:
        resolved.close()
        raise
    return resolved


def _walk(resolved: Resolved, path: str, follow: bool, depth: int) -> None:
    trailing = path.endswith("/")
    parts = [part for part in path.split("/") if part]
    if trailing:
        resolved.must_be_dir = True
    if not parts:
        resolved.name = "."
        return
    for index, component in enumerate(parts):
        last = index == len(parts) - 1
        if component == ".":
            if last:
                resolved.name = "."
            continue
        if component == "..":
            resolved._leave()
            if last:
                resolved.name = "."
            continue
        if len(component.encode()) > MAX_NAME_LENGTH:
            raise SandboxError(ErrorKind.NAME_TOO_LONG, f"component {component[:40]!r}...")
        try:
            status = os.lstat(component, dir_fd=resolved.parent)
        except FileNotFoundError:
            if last:
                resolved.name = component
                return
            raise SandboxError(ErrorKind.NO_ENTRY, f"{component!r} in {path!r}") from None
        if stat.S_ISLNK(status.st_mode) and (not last or follow or trailing):
            if depth >= MAX_SYMLINKS:
                raise SandboxError(ErrorKind.LOOP, f"more than {MAX_SYMLINKS} symlinks")
            target = os.readlink(component, dir_fd=resolved.parent)
            if target.startswith("/"):
                raise SandboxError(ErrorKind.NOT_CAPABLE,
                                   f"symlink {component!r} to an absolute path")
            # The target replaces the link in the rest of the path, relative to the link's
            # directory; its own `..` are checked against the same root.
            rest = "/".join(parts[index + 1:])
            joined = target + ("/" + rest if rest else "") + ("/" if trailing else "")
            _walk(resolved, joined, follow, depth + 1)
            return
        if last:
            resolved.name = component
            return
        if not stat.S_ISDIR(status.st_mode):
            raise SandboxError(ErrorKind.NOT_DIRECTORY, f"{component!r} in {path!r}")
        resolved._enter(os.open(component, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW,
                                dir_fd=resolved.parent))


def check_symlink_target(target: str) -> None:
    """A guest may create a symlink only with a relative target: an absolute one could never
    be followed inside the sandbox (following checks `..` then)."""
    if target.startswith("/"):
        raise SandboxError(ErrorKind.NOT_CAPABLE, f"symlink to the absolute path {target[:80]!r}")
    if "\0" in target:
        raise SandboxError(ErrorKind.INVALID, "NUL in a symlink target")


# --- permissions (wasmtime-py's DirPerms / FilePerms) -------------------------------------

def require_directory_write(descriptor) -> None:
    """Creating, removing or renaming entries needs DirPerms.WRITE_ONLY on the preopen."""
    if not descriptor.dir_perms & DirPerms.WRITE_ONLY:
        raise SandboxError(ErrorKind.NOT_PERMITTED, "the directory is read-only")


def require_file_write(descriptor) -> None:
    """Opening a file for writing or truncation needs FilePerms.WRITE_ONLY on the preopen."""
    if not descriptor.file_perms & FilePerms.WRITE_ONLY:
        raise SandboxError(ErrorKind.NOT_PERMITTED, "files in the directory are read-only")


__all__ = ["MAX_SYMLINKS", "MAX_PATH_LENGTH", "MAX_NAME_LENGTH", "Resolved", "resolve",
           "check_symlink_target", "require_directory_write", "require_file_write"]
