"""WASI in the core: what every WASI ABI (preview 1 today, preview 2 next) shares. The
configuration (`config`: WasiConfig, DirPerms, FilePerms), the capability sandbox (`sandbox`:
path resolution inside a directory descriptor, preopen permissions), open descriptors and
their table (`descriptors`), the per-store state (`context`: WasiContext, kept in
`store.stash[WASI_CONTEXT]`) and the portable error kinds (`errors`). Each ABI plugin adds its
own numbering, layouts and functions, and maps `SandboxError.kind` to its own error codes.
"""

from wasmcore.wasi.config import DirPerms, FilePerms, WasiConfig
from wasmcore.wasi.context import WASI_CONTEXT, WasiContext, context_of_store
from wasmcore.wasi.errors import ErrorKind, SandboxError

__all__ = ["WasiConfig", "DirPerms", "FilePerms", "WASI_CONTEXT", "WasiContext",
           "context_of_store", "ErrorKind", "SandboxError"]
