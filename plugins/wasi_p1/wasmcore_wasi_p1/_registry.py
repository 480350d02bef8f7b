"""The table of WASI functions: `@wasi("name", "params")` registers an implementation taking
`(ctx, mem, *args)` (`mem` a `wasmcore.runtime.guest_memory.GuestMemory` over the caller's
exported "memory"); the wrapper builds the context and turns every failure into an errno:
WasiError's own, a sandbox error's kind, a bad guest pointer (FAULT) or string (ILSEQ), a host
OSError's errno."""

from __future__ import annotations

from wasmcore.errors import ExitTrap, Trap, WasmcoreError
from wasmcore.runtime.guest_memory import GuestMemory, InvalidStringError, OutOfBoundsError
from wasmcore.syntax.types import FuncType, ValueType
from wasmcore.wasi.errors import SandboxError

from ._context import context_of
from ._errno import FAULT, ILSEQ, INVAL, NOSYS, WasiError, from_kind, from_oserror

FUNCTIONS: dict[str, tuple[FuncType, object]] = {}
_VT = {"i": ValueType.I32, "I": ValueType.I64}


def memory_of(caller) -> GuestMemory:
    """The caller's memory: preview 1 finds it only as the export named "memory"."""
    inst = caller.instance
    mem = inst.exports.get("memory") if inst is not None else None
    if mem is None:
        raise WasiError(FAULT)
    return GuestMemory(mem)


def wasi(name: str, params: str, results: str = "i", needs_memory: bool = True):
    ftype = FuncType(tuple(_VT[c] for c in params), tuple(_VT[c] for c in results))

    def decorate(impl):
        if results:
            def host(caller, *args):
                try:
                    ctx = context_of(caller)
                    mem = memory_of(caller) if needs_memory else None
                    return impl(ctx, mem, *args) or 0
                except WasiError as exc:
                    return exc.errno
                except SandboxError as exc:
                    return from_kind(exc.kind)
                except OutOfBoundsError:
                    return FAULT
                except InvalidStringError:
                    return ILSEQ
                except (WasmcoreError, Trap, ExitTrap):
                    raise
                except OSError as exc:
                    return from_oserror(exc)
                except (ValueError, OverflowError):
                    return INVAL
        else:
            def host(caller, *args):
                ctx = context_of(caller)
                impl(ctx, None, *args)
        host.__name__ = name
        host.__qualname__ = name
        host.__wrapped__ = impl
        FUNCTIONS[name] = (ftype, host)
        return impl

    return decorate


def nosys(name: str, params: str) -> None:
    wasi(name, params, needs_memory=False)(lambda ctx, mem, *args: NOSYS)


def s64(v: int) -> int:
    return v - (1 << 64) if v >= 1 << 63 else v
