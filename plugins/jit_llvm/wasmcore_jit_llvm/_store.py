"""Per store: the state every llvm instance of a store shares (docs/jit_llvm.md, "vmctx"
and "Trap protocol"): the shared block native code reaches through every vmctx, the store's
instances by vmctx address (for runtime calls and backtraces), its references as handles,
host records for the functions native code calls into Python, the host trampolines its table
entries use, fuel and epoch syncing, and the Python side of traps. Also the generated
closures crossing between Python and native code (`make_invoke`, `make_host_handler`).

Everything here lives in `store.stash` and dies with the store; the only process-wide state
is the bounded cache of generated closure factories, keyed by signature."""

from __future__ import annotations

import ctypes
import functools
import threading
import weakref
from os import getpid as _getpid

from wasmcore.errors import Frame, Trap, TrapCode, WasmcoreError
from wasmcore.plugin import StashKey
from wasmcore.syntax.types import ValueType
from wasmcore_jit_llvm import _layout as L
from wasmcore_jit_llvm import _signals
from wasmcore_jit_llvm._engine import engine_state
from wasmcore_jit_llvm._host import HostCallable, fast_handler
from wasmcore_jit_llvm._simd import n_slots, slots
from wasmcore_jit_llvm._translate import sig_key

U64 = ctypes.c_uint64
M64 = 0xFFFFFFFFFFFFFFFF
REF_TYPES = (ValueType.FUNCREF, ValueType.EXTERNREF)
BYTES_PER_FRAME = 64  # max_wasm_stack -> call depth (as interp)
DEFAULT_MAX_WASM_STACK = 512 * 1024
MIN_STACK_BUDGET = 64 * 1024
MAX_STACK_BUDGET = 4 << 20

HOST_CB_TYPE = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p, ctypes.c_void_p)
RT_CB_TYPE = ctypes.CFUNCTYPE(ctypes.c_uint64, ctypes.c_void_p, ctypes.c_int32, ctypes.c_uint64,
                              ctypes.c_uint64, ctypes.c_uint64, ctypes.c_uint64)
# Generated closure factories are cached per signature; they refer to nothing of a store or
# module (those are their arguments), and the bound keeps a fuzzer's stream of types in check.
FACTORY_CACHE_SIZE = 512


class FuncRef:
    """`FuncInstance.native` of an llvm function: its code and vmctx addresses."""

    __slots__ = ("code", "vmctx", "type_id", "shared")

    def __init__(self, code: int, vmctx: int, type_id: int, shared: int):
        self.code = code
        self.vmctx = vmctx
        self.type_id = type_id
        self.shared = shared  # its store's shared state: direct calls only within one store


STATE_KEY: StashKey = StashKey("llvm")


class StoreState:
    """Per store: the shared block native code reaches through every vmctx, the store's llvm
    instances, references (handles), host records, host trampolines, and the exception
    pending while a trap unwinds native frames."""

    def __init__(self, store):
        self.store_ref = weakref.ref(store) if store is not None else None
        self.shared = (U64 * L.SH_SLOTS)()
        self.bt = (U64 * (2 * L.BT_CAP))()
        self.shared[L.SH_BT_BUF] = ctypes.addressof(self.bt)
        self.shared_addr = ctypes.addressof(self.shared)
        engine = getattr(store, "engine", None)
        stack = getattr(getattr(engine, "config", None), "max_wasm_stack", None) or DEFAULT_MAX_WASM_STACK
        self.shared[L.SH_DEPTH_LIMIT] = self.shared[L.SH_DEPTH] = max(1, stack // BYTES_PER_FRAME)
        # As Wasmtime: max_wasm_stack bytes of native stack below the outermost entry, capped
        # so a thread's default 8 MiB stack always has room for the Python frames above.
        self.shared[L.SH_STACK_BUDGET] = min(max(stack, MIN_STACK_BUDGET), MAX_STACK_BUDGET)
        self.refs: list = [None]
        self.ref_ids: dict = {}
        self.pending: BaseException | None = None
        self.records: dict = {}  # id(FuncInstance) -> (record, handler, FuncInstance)
        # Canonical type ids are the engine's: instances of modules sharing tables agree.
        self.types = engine_state(engine)
        # vmctx address -> LLVMInstance: the runtime calls and backtraces of this store's
        # code name their instance by its vmctx (an instance owns its vmctx; weak values, as
        # the store and the functions in tables keep the instances alive).
        self.instances: "weakref.WeakValueDictionary[int, object]" = weakref.WeakValueDictionary()
        # sig_key -> (host_<sig> address, the LLVMModule holding that code): what a table entry
        # for a non-llvm function calls. Modules join as their instances do (`add_module`).
        self.host_trampolines: dict = {}
        self.unresolved: set = set()  # TableMirrors with an entry no trampoline served yet
        # The runtime-call function in every vmctx of this store (slot RT).
        self.rt_callback = _runtime_call_function(self)
        self.rt_address = ctypes.cast(self.rt_callback, ctypes.c_void_p).value
        # Fuel / epochs: native code works on shared slots; store.vm is copied in on entry to
        # wasm and after host calls, and the fuel back out on exits and before host calls.
        config = getattr(engine, "config", None)
        self.vm = getattr(store, "vm", None)
        self.fuel = bool(getattr(config, "consume_fuel", False)) and self.vm is not None
        self.epochs = bool(getattr(config, "epoch_interruption", False)) and self.vm is not None
        self.fuel_cell = ctypes.c_int64.from_address(self.shared_addr + 8 * L.SH_FUEL)
        self.deadline_cell = ctypes.c_uint64.from_address(self.shared_addr + 8 * L.SH_DEADLINE)
        if self.epochs:
            self.epoch_cell, self.epoch_counter = engine.epoch_cell, engine._epoch_counter
            self.shared[L.SH_EPOCH_PTR] = ctypes.addressof(engine.epoch_cell)
            _signals.watch(self)  # a Python signal handler may increment the epoch

    def enter(self):
        """Python -> wasm: publish the store's fuel and deadline to native code."""
        vm = self.vm
        if self.fuel:
            self.fuel_cell.value = vm.fuel
        if self.epochs:
            self.deadline_cell.value = vm.epoch_deadline
            if _signals._owner_pid != _getpid():  # first entry from the main thread
                _signals.ensure_installed()

    def leave(self):
        """wasm -> Python (a return, a trap, or a host call): the store sees the fuel left."""
        if self.fuel:
            self.vm.fuel = self.fuel_cell.value

    def epoch_deadline_reached(self):
        """An epoch check found the epoch cell at the deadline: trap, or go on with the
        deadline the store (or its callback) sets."""
        _signals.consume(self)  # a signal's handler has run by now (on the main thread)
        self.leave()  # the callback may run wasm or read the fuel
        try:
            self.vm.epoch_deadline_reached()
        finally:
            self.enter()  # the (new) deadline and fuel

    def metered(self, invoke, check_epoch=False):
        """Wrap a Python -> wasm `invoke` with the fuel / deadline syncing (when enabled).
        `check_epoch`: the function has no entry check of its own (see _liveness), so the
        host checks before it enters, as Wasmtime's entry check would."""
        if not (self.fuel or self.epochs):
            return invoke
        enter, leave = self.enter, self.leave
        # With epochs on, the signal relay needs to know which store runs on which thread.
        running = _signals.running if self.epochs else None
        check_epoch = check_epoch and self.epochs
        epoch_cell, deadline_cell = getattr(self, "epoch_cell", None), self.deadline_cell

        def metered_invoke(*args):
            if running is not None:
                entry = (threading.get_ident(), self)
                running.append(entry)
            enter()
            try:
                if check_epoch and epoch_cell.value >= deadline_cell.value:
                    self.epoch_deadline_reached()
                return invoke(*args)
            finally:
                leave()
                if running is not None:
                    running.remove(entry)
        metered_invoke.block = getattr(invoke, "block", None)
        return metered_invoke

    def metered_handler(self, handler):
        """Wrap a host handler (wasm -> Python): the host may use or change fuel / deadline."""
        if not (self.fuel or self.epochs):
            return handler
        enter, leave = self.enter, self.leave
        signals_pending = _signals._forced

        def metered(rec, p):
            leave()
            if signals_pending:  # the handlers have run as this callback started
                _signals.consume(self)
            try:
                return handler(rec, p)
            finally:
                enter()
        return metered

    # references <-> handles
    def handle(self, obj) -> int:
        if obj is None:
            return 0
        h = self.ref_ids.get(id(obj))
        if h is None:
            h = self.ref_ids[id(obj)] = len(self.refs)
            self.refs.append(obj)
        return h

    def obj(self, h: int):
        return self.refs[h]

    # traps
    def fail(self, status: int):
        """Raise what a non-zero trampoline status stands for."""
        frames = self.frames()
        if status == L.STATUS_HOST_EXCEPTION:
            error, self.pending = self.pending, None
            if error is None:
                error = WasmcoreError("llvm backend: a host exception was lost")
            if isinstance(error, Trap) and not error.frames and frames:
                error.frames = frames
            raise error
        if status == L.STATUS_TABLE_ACCESS:
            trap = Trap(TrapCode.TABLE_OUT_OF_BOUNDS, "out of bounds table access")
        else:
            try:
                trap = Trap(TrapCode(status - 1))
            except ValueError:
                raise WasmcoreError(f"llvm backend: unknown trap status {status}") from None
        trap.frames = frames
        raise trap

    def frames(self) -> list:
        n = self.shared[L.SH_BT_COUNT]
        self.shared[L.SH_BT_COUNT] = 0
        out = []
        bt = self.bt
        instances = self.instances
        for k in range(min(n, L.BT_CAP)):
            inst = instances.get(bt[2 * k])
            j = bt[2 * k + 1]
            if inst is None:
                out.append(Frame(j))
                continue
            module = inst.compiled.module
            out.append(Frame(j, module.names.functions.get(j), inst.module_name))
        return out

    # host functions (and any non-llvm function) called from native code
    def host_record(self, fi, callable_=None) -> int:
        """The fake vmctx of a host function: {shared, callback}; its address. The callback
        is a ctypes function made for this record alone (no dispatch by address)."""
        key = id(fi) if callable_ is None else (id(fi), id(callable_))
        entry = self.records.get(key)
        if entry is None:
            params, results = fi.type.params, fi.type.results
            arr_type = U64 * max(n_slots(params), n_slots(results), 1)
            if isinstance(callable_, HostCallable) and ValueType.V128 not in params + results:
                handler = fast_handler(callable_, self, L.STATUS_HOST_EXCEPTION, arr_type)
            else:
                handler = make_host_handler(fi.type, callable_ if callable_ is not None
                                            else fi.invoke, self)
            callback = HOST_CB_TYPE(self.metered_handler(handler))
            record = (U64 * L.HR_SLOTS)()
            record[L.HR_SHARED] = self.shared_addr
            record[L.HR_CALLBACK] = ctypes.cast(callback, ctypes.c_void_p).value
            entry = self.records[key] = (record, callback, fi, callable_)
        return ctypes.addressof(entry[0])

    def entry_of(self, f):
        """A table entry (code, type id, vmctx) for a FuncInstance (or None)."""
        if f is None:
            return 0, 0, 0
        native = f.native
        if f.backend == "llvm" and native.__class__ is FuncRef and native.shared == self.shared_addr:
            return native.code, native.type_id, native.vmctx
        tramp = self.host_trampolines.get(sig_key(f.type))
        return (tramp[0] if tramp else 0), self.types.type_id(f.type), self.host_record(f)

    def add_module(self, compiled):
        """An instance of `compiled` (an LLVMModule) joins the store: its host trampolines
        serve the store's table entries for non-llvm functions of those signatures (kept
        alive with the store). Entries written before one was there are filled in now."""
        new = [k for k in compiled.host_trampolines if k not in self.host_trampolines]
        for k in new:
            self.host_trampolines[k] = (compiled.host_trampolines[k], compiled)
        if new and self.unresolved:
            mirrors, self.unresolved = self.unresolved, set()
            for mirror in mirrors:
                mirror.changed(0, mirror.desc[L.TD_SIZE])


def _runtime_call_function(state: StoreState):
    """`rt` for the vmctxs of `state`'s store (the RT slot): the operations native code leaves
    to Python (tables, bulk memory, references, fuel and epochs), run by the instance the
    calling code's vmctx names. It refers to the state weakly: the state owns it."""
    instances, shared, state_ref = state.instances, state.shared, weakref.ref(state)

    def runtime_call(vmctx, opcode, a, b, c, d):
        try:
            return instances[vmctx].runtime_call(opcode, a, b, c, d) & M64
        except BaseException as error:  # noqa: BLE001 - re-raised by the entry trampoline's caller
            state_ref().pending = error
            shared[L.SH_TRAP] = L.STATUS_HOST_EXCEPTION
            return 0
    return RT_CB_TYPE(runtime_call)


def state_of(store) -> StoreState:
    stash = getattr(store, "stash", None)
    if stash is None:
        return StoreState(store)
    state = stash.get(STATE_KEY)
    if state is None:
        state = stash[STATE_KEY] = StoreState(store)
    return state


def make_host_handler(ft, invoke, state):
    """`status handler(args_address)` calling a bits-convention `invoke(*bits) -> tuple`."""
    params, results = tuple(ft.params), tuple(ft.results)
    n = max(n_slots(params), n_slots(results), 1)
    return _host_handler_factory(params, results)(invoke, state, U64 * n)


@functools.lru_cache(maxsize=FACTORY_CACHE_SIZE)
def _host_handler_factory(params: tuple, results: tuple):
    args = ", ".join(f"_obj(a[{i}])" if vt in REF_TYPES else
                     f"(a[{i}] | a[{i + 1}] << 64)" if vt == ValueType.V128 else f"a[{i}]"
                     for i, vt in zip(slots(params), params))
    lines = ["def _make(invoke, state, ARR):", "    _obj = state.obj", "    _h = state.handle",
             "    def handler(rec, p):", "        try:",
             "            a = ARR.from_address(p)",
             f"            r = invoke({args})"]
    for k, (i, vt) in enumerate(zip(slots(results), results)):
        if vt == ValueType.V128:  # two slots, low half first
            lines.append(f"            a[{i}] = r[{k}] & {M64}; a[{i + 1}] = r[{k}] >> 64 & {M64}")
        else:
            value = f"_h(r[{k}])" if vt in REF_TYPES else f"r[{k}]"
            lines.append(f"            a[{i}] = {value}")
    lines += ["            return 0",
              "        except BaseException as error:",
              "            state.pending = error",
              f"            return {L.STATUS_HOST_EXCEPTION}",
              "    return handler"]
    return _factory("host", lines)


def make_invoke(ft, call, vmctx: int, code: int, state: StoreState, check_epoch=False):
    """The bits-convention `invoke(*args) -> tuple` of an llvm function: a preallocated block
    {vmctx, code, args_and_results...} passed to the signature's entry trampoline."""
    params, results = tuple(ft.params), tuple(ft.results)
    n = max(n_slots(params), n_slots(results), 1)
    arr = (U64 * (n + 2))(vmctx, code)
    invoke = _invoke_factory(params, results)(call, arr, ctypes.addressof(arr), state)
    invoke.block = arr  # the closure may not reference it (no params, no results)
    return state.metered(invoke, check_epoch)


@functools.lru_cache(maxsize=FACTORY_CACHE_SIZE)
def _invoke_factory(params: tuple, results: tuple):
    names = [f"a{i}" for i in range(len(params))]
    lines = ["def _make(call, arr, addr, state):", "    _h = state.handle",
             "    _obj = state.obj", "    fail = state.fail",
             f"    def invoke({', '.join(names)}):"]
    for i, vt, name in zip(slots(params), params, names):
        if vt == ValueType.V128:  # two slots, low half first
            lines.append(f"        arr[{i + 2}] = {name} & {M64}; "
                         f"arr[{i + 3}] = {name} >> 64 & {M64}")
        else:
            lines.append(f"        arr[{i + 2}] = " + (f"_h({name})" if vt in REF_TYPES else name))
    lines.append("        s = call(addr)")
    lines.append("        if s:")
    lines.append("            fail(s)")
    outs = [f"_obj(arr[{i + 2}])" if vt in REF_TYPES else
            f"(arr[{i + 2}] | arr[{i + 3}] << 64)" if vt == ValueType.V128 else f"arr[{i + 2}]"
            for i, vt in zip(slots(results), results)]
    lines.append(f"        return ({', '.join(outs)}{',' if outs else ''})")
    lines.append("    return invoke")
    return _factory("invoke", lines)


def _factory(kind: str, lines: list):
    """Compile generated source defining `_make`; return that factory."""
    namespace: dict = {}
    exec(compile("\n".join(lines) + "\n", f"<wasm-llvm {kind}>", "exec"), namespace)
    return namespace["_make"]

