"""The sandbox's errors: `SandboxError` carries an `ErrorKind` that does not depend on any WASI
ABI; preview 1 maps it to its errno, a preview 2 host to its `wasi:filesystem` error-code.

Only the sandbox's own decisions raise it (a path escaping its directory, a symlink loop, a
descriptor that is not there, a permission the preopen withheld). Failures of the host's own
calls pass through as `OSError`: every ABI maps the host errno already, for all the calls it
makes outside the sandbox too.
"""

from __future__ import annotations

import enum

from wasmcore.errors import WasmcoreError


class ErrorKind(enum.Enum):
    """Why the sandbox refused; names after wasi:filesystem's error-code where one fits."""

    NOT_CAPABLE = "not capable"  # the path leaves the directory the guest was given
    NOT_PERMITTED = "not permitted"  # the preopen's DirPerms / FilePerms withhold it
    NO_ENTRY = "no such file or directory"
    BAD_DESCRIPTOR = "bad descriptor"
    NOT_DIRECTORY = "not a directory"
    LOOP = "too many levels of symbolic links"
    NAME_TOO_LONG = "name too long"
    INVALID = "invalid argument"


class SandboxError(WasmcoreError):
    """A sandbox rule refused an operation; `kind` says which, the message says where."""

    def __init__(self, kind: ErrorKind, detail: str = ""):
        self.kind = kind
        super().__init__(f"{kind.value}: {detail}" if detail else kind.value)


__all__ = ["ErrorKind", "SandboxError"]
