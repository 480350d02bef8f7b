"""WASI preview 1 (`wasi_snapshot_preview1`) as a wasmcore plugin.

Per-store state (fd table, preopens, stdio) is created lazily from `store.wasi_config`
(a `wasmcore.WasiConfig`) and kept in `store.stash[wasmcore.wasi.WASI_CONTEXT]`; the sandbox
and the guest-memory access are the core's (`wasmcore.wasi`, `wasmcore.runtime.guest_memory`)."""

from __future__ import annotations

from wasmcore.plugin import HostFunction, hookimpl

from . import args, clock, fs, poll, proc, random, sock  # noqa: F401  (register functions)
from ._context import WASI_CONTEXT, Context, context_of
from ._registry import FUNCTIONS

MODULE_NAME = "wasi_snapshot_preview1"


class WasiPreview1:
    name = MODULE_NAME
    kind = "wasi"

    def __init__(self) -> None:
        self._functions = {
            name: HostFunction(ftype, host, access_caller=True, convention="bits", name=name)
            for name, (ftype, host) in FUNCTIONS.items()
        }

    def functions(self) -> dict[str, HostFunction]:
        return dict(self._functions)


_MODULE: WasiPreview1 | None = None


def host_module() -> WasiPreview1:
    global _MODULE
    if _MODULE is None:
        _MODULE = WasiPreview1()
    return _MODULE


@hookimpl
def wasmcore_register_host_modules(register) -> None:
    register(host_module())


__all__ = ["WasiPreview1", "host_module", "Context", "context_of", "WASI_CONTEXT", "MODULE_NAME"]
