"""Helpers the generated code calls (bound into every instance namespace by name; the bulk
memory/table operations are the core's, `wasmcore.exec.bulk`), plus the boundary adapters:
bits-convention `invoke` wrappers, foreign-function adapters, host-function adapters and trap
backtraces.

Calling convention of the generated ("native") functions: positional arguments in the interp
representation (see `_numerics`), result None / the value / a tuple for several results.
"""

from __future__ import annotations

import sys
import weakref
from typing import Any, Callable

from wasmcore.errors import Frame, Trap, TrapCode
from wasmcore_interp import _numerics as N

F32, F64, I32, I64, V128, FUNCREF, EXTERNREF = 0x7D, 0x7C, 0x7F, 0x7E, 0x7B, 0x70, 0x6F
WASM_FILENAME_PREFIX = "<wasm "


# --- traps -----------------------------------------------------------------------------------
def oob():
    raise Trap(TrapCode.MEMORY_OUT_OF_BOUNDS)


def unreachable():
    raise Trap(TrapCode.UNREACHABLE)


# --- calls -------------------------------------------------------------------------------------
def call_indirect(table, i: int, ft, *args):
    """The slow path of call_indirect: every check, and calls of foreign functions."""
    e = table.elements
    if i >= len(e):
        raise Trap(TrapCode.TABLE_OUT_OF_BOUNDS)
    f = e[i]
    if f is None:
        raise Trap(TrapCode.INDIRECT_CALL_TO_NULL)
    if f.type is not ft and f.type != ft:
        raise Trap(TrapCode.BAD_SIGNATURE)
    return native_of(f)(*args)


_foreign_cache: "weakref.WeakKeyDictionary[Any, Callable]" = weakref.WeakKeyDictionary()


def native_of(f) -> Callable:
    """A callable in the interp convention for any FuncInstance."""
    if f.backend == "interp" and f.native is not None:
        native = f.native
        materialize = getattr(native, "_wasm_materialize", None)
        return materialize() if materialize is not None else native
    adapter = _foreign_cache.get(f)
    if adapter is None:
        adapter = _foreign_cache[f] = foreign_adapter(f.type, f.invoke)
    return adapter


def _conv_in(vt: int, name: str) -> str:
    """interp -> bits, as source."""
    return f"_d2q({name})" if vt == F64 else name


def _conv_out(vt: int, expr: str) -> str:
    """bits -> interp, as source."""
    return f"_q2d({expr})" if vt == F64 else expr


_adapter_cache: dict = {}


def _compile_factory(key, src: str, env: dict):
    factory = _adapter_cache.get(key)
    if factory is None:
        ns = dict(env)
        exec(compile(src, f"<wasm-interp adapter {key[0]}>", "exec"), ns)
        factory = _adapter_cache[key] = ns["_make"]
    return factory


def foreign_adapter(ft, invoke: Callable) -> Callable:
    """Wrap a bits-convention `invoke(*bits) -> tuple` as an interp-convention callable."""
    params = [f"a{i}" for i in range(len(ft.params))]
    args = ", ".join(_conv_in(vt, p) for vt, p in zip(ft.params, params))
    results = ft.results
    lines = ["def _make(invoke):", f"    def foreign({', '.join(params)}):"]
    if not results:
        lines.append(f"        invoke({args})")
    elif len(results) == 1:
        lines.append(f"        return {_conv_out(results[0], f'invoke({args})[0]')}")
    else:
        lines.append(f"        r = invoke({args})")
        lines.append("        return (" + ", ".join(_conv_out(vt, f"r[{i}]")
                                               for i, vt in enumerate(results)) + ",)")
    lines.append("    return foreign")
    key = ("foreign", tuple(ft.params), tuple(results))
    return _compile_factory(key, "\n".join(lines) + "\n", {"_d2q": N.d2q, "_q2d": N.q2d})(invoke)


# --- the bits-convention entry of a compiled function ---------------------------------------------
def make_invoke(ft, get_native: Callable[[], Callable], fi) -> Callable:
    """`invoke(*bits) -> tuple` for a defined function: converts at the boundary, turns a
    RecursionError into a stack-overflow trap and gives traps their wasm backtrace."""
    params = [f"a{i}" for i in range(len(ft.params))]
    args = ", ".join(_conv_out(vt, p) for vt, p in zip(ft.params, params))
    results = ft.results
    lines = ["def _make(fi):", f"    def invoke({', '.join(params)}):", "        try:",
             f"            r = fi.native({args})",
             "        except Trap as trap:",
             "            _add_frames(trap, trap.__traceback__)",
             "            raise",
             "        except RecursionError as error:",
             "            raise _overflow(error) from None"]
    if not results:
        lines.append("        return ()")
    elif len(results) == 1:
        lines.append(f"        return ({_conv_in(results[0], 'r')},)")
    else:
        lines.append("        return (" + ", ".join(_conv_in(vt, f"r[{i}]")
                                               for i, vt in enumerate(results)) + ",)")
    lines.append("    return invoke")
    key = ("invoke", tuple(ft.params), tuple(results))
    env = {"_d2q": N.d2q, "_q2d": N.q2d, "Trap": Trap, "_add_frames": add_frames,
           "_overflow": overflow_trap}
    return _compile_factory(key, "\n".join(lines) + "\n", env)(fi)


def frames_from_traceback(tb) -> list[Frame]:
    frames = []
    while tb is not None:
        frame = tb.tb_frame
        code = frame.f_code
        if code.co_filename.startswith(WASM_FILENAME_PREFIX):
            g = frame.f_globals
            module = g.get("_MODULE")
            try:
                index = int(code.co_name[1:])
            except ValueError:
                index = -1
            name = module.names.functions.get(index) if module is not None else None
            frames.append(Frame(index, name, g.get("_MODNAME")))
        tb = tb.tb_next
    frames.reverse()
    return frames


def add_frames(trap: Trap, tb) -> None:
    frames = frames_from_traceback(tb)
    if len(frames) >= len(trap.frames):
        trap.frames = frames


def overflow_trap(error: RecursionError) -> Trap:
    trap = Trap(TrapCode.STACK_OVERFLOW)
    frames = frames_from_traceback(error.__traceback__)
    if len(frames) > 1000:  # keep the innermost and outermost frames of a runaway recursion
        frames = frames[:500] + frames[-500:]
    trap.frames = frames
    return trap


class _Bound:
    """How many bounded entries are running (all threads: CPython's recursion limit is one per
    interpreter), and the limit to restore when the last one returns."""

    active = 0
    restore = 0


HOST_SLACK = 50  # Python frames left for the entry adapters and host functions at the bound


def stack_depth() -> int:
    frame, depth = sys._getframe(1), 0
    while frame is not None:
        frame, depth = frame.f_back, depth + 1
    return depth


def bounded_invoke(invoke: Callable, frames: int) -> Callable:
    """`invoke` with wasm recursion bounded to about `frames` calls below the outermost entry
    (max_wasm_stack smaller than the default): the recursion limit is lowered to the entry's
    depth plus `frames` for the call, so a RecursionError (made a STACK_OVERFLOW trap by
    `invoke`) comes sooner. Nested and concurrent entries run under the outermost bound."""

    def entry(*args):
        if _Bound.active:
            _Bound.active += 1
            try:
                return invoke(*args)
            finally:
                _Bound.active -= 1
        old = sys.getrecursionlimit()
        new = stack_depth() + frames + HOST_SLACK
        if new >= old:
            return invoke(*args)
        _Bound.active, _Bound.restore = 1, old
        sys.setrecursionlimit(new)
        try:
            return invoke(*args)
        finally:
            _Bound.active = 0
            sys.setrecursionlimit(_Bound.restore)

    return entry


def ensure_recursion_limit(depth: int) -> None:
    """Let `depth` wasm frames fit on top of the current Python stack."""
    needed = depth + 500
    try:
        frame, current = sys._getframe(), 0
        while frame is not None and current < 100000:
            frame, current = frame.f_back, current + 1
    except Exception:  # pragma: no cover - other interpreters
        current = 200
    needed += current
    if sys.getrecursionlimit() < needed:
        sys.setrecursionlimit(needed)
