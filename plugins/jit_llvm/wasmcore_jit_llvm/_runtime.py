"""The Python side of the llvm backend: compiled modules, instances (vmctx), the store-level
shared state, host-call and runtime-call callbacks, table mirrors and native global cells."""

from __future__ import annotations

import contextlib
import ctypes
import gc
import hashlib
import threading
import weakref
from os import getpid as _getpid

import llvmlite.binding as llvm
import msgspec

from wasmcore.kernel.artifact import engine_target, host_target
from wasmcore.errors import Frame, Trap, TrapCode, WasmcoreError
from wasmcore.plugin import CodeRegion, PublishedFunction, StashKey
from wasmcore.runtime import GlobalInstance
from wasmcore.syntax.types import ExternKind, ValueType
from wasmcore_jit_llvm import _layout as L
from wasmcore_jit_llvm import _signals
from wasmcore_jit_llvm._host import HostCallable, fast_handler
from wasmcore_jit_llvm._liveness import epoch_checked_entries
from wasmcore_jit_llvm._simd import V128Cell, n_slots, slots
from wasmcore_jit_llvm._translate import ModuleTranslator, sig_key

U64 = ctypes.c_uint64
M32 = 0xFFFFFFFF
M64 = 0xFFFFFFFFFFFFFFFF
REF_TYPES = (ValueType.FUNCREF, ValueType.EXTERNREF)
BYTES_PER_FRAME = 64  # max_wasm_stack -> call depth (as interp)
DEFAULT_MAX_WASM_STACK = 512 * 1024
MIN_STACK_BUDGET = 64 * 1024
MAX_STACK_BUDGET = 4 << 20

ENTRY_TYPE = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p)
HOST_CB_TYPE = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p, ctypes.c_void_p)
RT_CB_TYPE = ctypes.CFUNCTYPE(ctypes.c_uint64, ctypes.c_void_p, ctypes.c_int32, ctypes.c_uint64,
                              ctypes.c_uint64, ctypes.c_uint64, ctypes.c_uint64)

_init_lock = threading.Lock()
_host: list = []
_all_targets: list = []


def _target_machine(opt: int, triple: str | None = None):
    """A new TargetMachine (an MCJIT engine takes ownership of the one it is given) and the CPU
    features it compiles for: the host's, or a baseline for `triple` (cross-compilation)."""
    with _init_lock:
        if not _host:
            llvm.initialize_native_target()
            llvm.initialize_native_asmprinter()
            _host.extend((llvm.Target.from_default_triple(), llvm.get_host_cpu_name(),
                          llvm.get_host_cpu_features().flatten()))
        if triple is not None and not _all_targets:
            llvm.initialize_all_targets()
            llvm.initialize_all_asmprinters()
            _all_targets.append(True)
    if triple is None:
        target, cpu, features = _host
        return target.create_target_machine(cpu=cpu, features=features, opt=opt,
                                            codemodel="jitdefault"), features
    try:
        target = llvm.Target.from_triple(triple)
    except RuntimeError as error:
        raise WasmcoreError(f"the llvm backend cannot compile for {triple!r}: {error}") from None
    # The generic CPU of the target: code that runs on any machine of that architecture.
    return target.create_target_machine(cpu="generic", features="", opt=opt,
                                        codemodel="jitdefault"), ""


@contextlib.contextmanager
def _no_gc():
    """Building the IR allocates hundreds of thousands of llvmlite objects that live until the
    module is parsed; the cyclic collector would rescan them over and over (~40% of translate
    + str() on a C program). They are collected as usual afterwards."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def optimize(llmod, tm, opt: int) -> None:
    """Run the IR pipeline for `opt`: 0 ("none") none at all, 2 LLVM's O2. Measured
    alternatives (docs/jit_llvm.md): O1 or O2 without unrolling/vectorization compile 10-25%
    faster but run binarytrees/matmul up to 40% slower; SROA alone before O0 codegen costs
    ~30% more compile time and gains nothing (FastISel's register allocator spills anyway)."""
    if opt:
        pto = llvm.create_pipeline_tuning_options(speed_level=opt)
        pb = llvm.create_pass_builder(tm, pto)
        pb.getModulePassManager().run(llmod, pb)


def host_cpu_features() -> str:
    _target_machine(0)
    return _host[2]


def _sp_register(triple: str):
    if triple.startswith("x86_64"):
        return "rsp"
    if triple.startswith(("aarch64", "arm64")):
        return "sp"
    return None


# 2: only functions whose calls go past functions that make none check the epoch on entry
# (the host checks for the others).
PAYLOAD_VERSION = 2


class Payload(msgspec.Struct, frozen=True):
    """The llvm backend's AOT payload: the object code and what binding it needs."""

    version: int
    object_code: bytes
    signatures: list[str]  # sig keys with entry_/host_ trampolines in the object
    opt: int
    cpu_features: str
    digest: str  # sha256 of object_code: a damaged object would crash the loader, not fail


def object_digest(code: bytes) -> str:
    return hashlib.sha256(code).hexdigest()


# --- canonical type ids (engine-wide; structural) ------------------------------------------------
_TYPE_IDS: dict = {}


def type_id(ft) -> int:
    tid = _TYPE_IDS.get(ft)
    if tid is None:
        tid = _TYPE_IDS[ft] = len(_TYPE_IDS) + 1  # 0 is the null entry
    return tid


# signature key -> (address of a host trampoline, the compiled module keeping it alive)
_HOST_TRAMPS: dict = {}


class FuncRef:
    """`FuncInstance.native` of an llvm function: its code and vmctx addresses."""

    __slots__ = ("code", "vmctx", "type_id", "shared")

    def __init__(self, code: int, vmctx: int, type_id: int, shared: int):
        self.code = code
        self.vmctx = vmctx
        self.type_id = type_id
        self.shared = shared  # its store's shared state: direct calls only within one store


# --- compiled module ---------------------------------------------------------------------------
class LLVMModule:
    """`CompiledModule` of the llvm backend: one JIT-compiled LLVM module."""

    backend = "llvm"
    # Fuel and epoch code is emitted only when the engine's config enables it (an AOT
    # artifact records both settings, so a payload always matches its engine).
    supports_fuel = True
    # Epoch checks poll the engine's epoch cell; a Python signal handler gets to run through
    # the signal relay (_signals.py) while native code loops.
    supports_epochs = True

    def __init__(self, engine, module, payload: "Payload | None" = None):
        self.module = module
        config = getattr(engine, "config", None)
        level = getattr(config, "opt_level", "speed") or "speed"
        self.opt = 0 if level == "none" else 2
        max_stack = getattr(config, "max_wasm_stack", None) or DEFAULT_MAX_WASM_STACK
        self.max_wasm_stack = max_stack
        self.unsupported = None  # a feature this backend cannot compile (none at present)
        self.epochs = bool(getattr(config, "epoch_interruption", False))
        self._regions: list = []
        self._published: list = []
        self.addresses: dict = {}
        self.engine = None
        self.object_code = b""  # the relocatable object MCJIT loaded (the AOT payload)
        self.target = engine_target(engine) if config is not None else host_target()
        # A module compiled for another machine is kept only to be serialized.
        self.foreign = self.target != host_target()
        self.cpu_features = ""
        if self.unsupported:
            return
        if payload is not None:
            self._load(payload)
            return
        mt = ModuleTranslator(module, name=module.names.module or "wasm",
                              sp_register=_sp_register(self.target),
                              fuel=bool(getattr(config, "consume_fuel", False)),
                              epochs=bool(getattr(config, "epoch_interruption", False)))
        with _no_gc():
            ir_module = mt.translate()
            ir_text = str(ir_module)
        self.layout = mt.layout
        self.entry_checked = mt.entry_checked
        self.func_types = mt.func_types
        self.n_imports = mt.n_imports
        self.signatures = dict(mt.signatures)
        self.global_types = mt.global_types
        tm, self.cpu_features = _target_machine(self.opt, self.target if self.foreign else None)
        llmod = llvm.parse_assembly(ir_text)
        llmod.triple = tm.triple
        llmod.data_layout = str(tm.target_data)
        optimize(llmod, tm, self.opt)
        if self.foreign:
            self.object_code = bytes(tm.emit_object(llmod))
            return
        ee = llvm.create_mcjit_compiler(llmod, tm)
        objects: list = []
        # MCJIT hands the object it generated to the cache: that is the AOT payload.
        ee.set_object_cache(lambda _module, data: objects.append(bytes(data)), lambda _module: None)
        ee.finalize_object()
        self.object_code = objects[0] if len(objects) == 1 else b""
        self._llmod = llmod
        self._bind(ee)

    def _load(self, payload):
        """Rebuild from an AOT payload: the module's layout from the (trusted) decoded module,
        the code from the saved object file; no translation, no optimization."""
        module = self.module
        self.layout = L.VMLayout(module)
        self.n_imports = self.layout.n_func_imports
        self.func_types = [module.types[i.desc] for i in module.imports if i.kind == ExternKind.FUNC]
        self.func_types += [module.types[f.type_index] for f in module.functions]
        self.global_types = [i.desc for i in module.imports if i.kind == ExternKind.GLOBAL]
        self.global_types += [g.type for g in module.globals]
        by_key = {sig_key(ft): ft for ft in module.types}
        self.signatures = {k: by_key.get(k) for k in payload.signatures}
        self.entry_checked = epoch_checked_entries(module) if self.epochs else frozenset()
        self.object_code = payload.object_code
        self.cpu_features = payload.cpu_features
        if self.foreign:
            return
        tm, _ = _target_machine(self.opt)
        ee = llvm.create_mcjit_compiler(llvm.parse_assembly(""), tm)
        ee.add_object_file(llvm.ObjectFileRef.from_data(payload.object_code))
        ee.finalize_object()
        self._bind(ee)

    def _bind(self, ee):
        self.engine = ee
        module = self.module
        names = [f"f{j}" for j in range(self.n_imports, len(self.func_types))]
        names += [f"entry_{k}" for k in self.signatures] + [f"host_{k}" for k in self.signatures]
        for name in names:
            address = ee.get_function_address(name)
            if not address:
                raise WasmcoreError(f"llvm backend: compiled code has no symbol {name!r}")
            self.addresses[name] = address
        self.entries = {k: ENTRY_TYPE(self.addresses[f"entry_{k}"]) for k in self.signatures}
        for k in self.signatures:
            _HOST_TRAMPS.setdefault(k, (self.addresses[f"host_{k}"], self))
        ordered = sorted((a, n) for n, a in self.addresses.items())
        fnames = module.names.functions
        for (addr, name), nxt in zip(ordered, ordered[1:] + [(None, None)]):
            size = (nxt[0] - addr) if nxt[0] is not None else 0
            if name.startswith("f") and name[1:].isdigit():
                j = int(name[1:])
                name = fnames.get(j) or f"wasm-function[{j}]"
                self._published.append(PublishedFunction(j, name, addr, size))
            self._regions.append(CodeRegion(name, addr, size))

    def payload(self) -> bytes:
        """The AOT payload (`wasmcore_serialize`); b"" when there is no object code to keep."""
        if self.unsupported or not self.object_code:
            return b""
        return msgspec.msgpack.encode(Payload(PAYLOAD_VERSION, self.object_code,
                                              list(self.signatures), self.opt, self.cpu_features,
                                              object_digest(self.object_code)))

    def code_regions(self) -> list:
        return list(self._regions)

    def published_functions(self) -> list:
        """The wasm functions' machine code (`wasmcore_code_published`)."""
        return list(self._published)


# --- store-level shared state ---------------------------------------------------------------------
STATE_KEY: StashKey = StashKey("llvm")


class StoreState:
    """Per store: the shared block native code reaches through every vmctx, references
    (handles), host records, and the exception pending while a trap unwinds native frames."""

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
        elif status == L.STATUS_UNSUPPORTED:
            raise WasmcoreError("the llvm backend cannot execute this instruction yet")
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
        for k in range(min(n, L.BT_CAP)):
            inst = _BY_VMCTX.get(bt[2 * k])
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
        tramp = _HOST_TRAMPS.get(sig_key(f.type))
        return (tramp[0] if tramp else 0), type_id(f.type), self.host_record(f)


def state_of(store) -> StoreState:
    stash = getattr(store, "stash", None)
    if stash is None:
        return StoreState(store)
    state = stash.get(STATE_KEY)
    if state is None:
        state = stash[STATE_KEY] = StoreState(store)
    return state


# --- callbacks -------------------------------------------------------------------------------------
_BY_VMCTX: "weakref.WeakValueDictionary[int, LLVMInstance]" = weakref.WeakValueDictionary()


def _rt_dispatch(vmctx, opcode, a, b, c, d):
    inst = _BY_VMCTX.get(vmctx)
    try:
        return inst.runtime_call(opcode, a, b, c, d) & M64
    except BaseException as error:  # noqa: BLE001 - re-raised by the entry trampoline's caller
        state = inst.state
        state.pending = error
        state.shared[L.SH_TRAP] = L.STATUS_HOST_EXCEPTION
        return 0


_RT_CB = RT_CB_TYPE(_rt_dispatch)
_RT_CB_ADDR = ctypes.cast(_RT_CB, ctypes.c_void_p).value

_factory_cache: dict = {}


def _factory(key, src: str, env: dict):
    f = _factory_cache.get(key)
    if f is None:
        ns = dict(env)
        exec(compile(src, f"<wasm-llvm {key[0]}>", "exec"), ns)
        f = _factory_cache[key] = ns["_make"]
    return f


def make_host_handler(ft, invoke, state):
    """`status handler(args_address)` calling a bits-convention `invoke(*bits) -> tuple`."""
    params, results = tuple(ft.params), tuple(ft.results)
    n = max(n_slots(params), n_slots(results), 1)
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
    factory = _factory(("host", params, results), "\n".join(lines) + "\n", {})
    return factory(invoke, state, U64 * n)


def make_invoke(ft, call, vmctx: int, code: int, state: StoreState, check_epoch=False):
    """The bits-convention `invoke(*args) -> tuple` of an llvm function: a preallocated block
    {vmctx, code, args_and_results...} passed to the signature's entry trampoline."""
    params, results = tuple(ft.params), tuple(ft.results)
    n = max(n_slots(params), n_slots(results), 1)
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
    factory = _factory(("invoke", params, results), "\n".join(lines) + "\n", {})
    arr = (U64 * (n + 2))(vmctx, code)
    invoke = factory(call, arr, ctypes.addressof(arr), state)
    invoke.block = arr  # the closure may not reference it (no params, no results)
    invoke = state.metered(invoke, check_epoch)
    return invoke


# --- native cells for memories, globals, tables -------------------------------------------------
def memory_cell(mem):
    cell = mem.native
    if cell is None:
        view = ctypes.c_char.from_buffer(mem.data)
        base = ctypes.addressof(view)
        del view  # release the buffer export; the mapping never moves or closes under us
        cell = mem.native = (U64 * 2)(base, mem.size)
    return cell


class NativeGlobalInstance(GlobalInstance):
    """A GlobalInstance whose value lives in a native cell (shared with llvm code)."""

    __slots__ = ()

    @property
    def value(self):
        return self.native.value

    @value.setter
    def value(self, v):
        self.native.value = v


def global_cell(glob):
    if glob.native is None:
        if glob.type.value_type == ValueType.V128:
            cell = V128Cell()
            cell.value = GlobalInstance.value.__get__(glob)
        else:
            cell = U64(GlobalInstance.value.__get__(glob) & M64)
        glob.native = cell
        glob.__class__ = NativeGlobalInstance
    return glob.native


class TableMirror:
    """The native copy {entries, size} of a funcref table, rewritten by the TableInstance
    methods that change it."""

    def __init__(self, table, state: StoreState):
        self.table = table
        self.state = state
        self.desc = (U64 * 2)()
        self.cap = 0
        self.entries = None
        self.retired: list = []
        self.grown()

    def grown(self):
        n = len(self.table.elements)
        if n > self.cap:
            cap = max(n, 2 * self.cap, 8)
            new = (U64 * (L.ENTRY_SLOTS * cap))()
            if self.entries is not None:
                ctypes.memmove(new, self.entries, 8 * L.ENTRY_SLOTS * self.cap)
                self.retired.append(self.entries)
            self.entries, self.cap = new, cap
            self.desc[L.TD_ENTRIES] = ctypes.addressof(new)
        old = self.desc[L.TD_SIZE]
        self.desc[L.TD_SIZE] = n
        if n > old:
            self.changed(old, n - old)

    def changed(self, start: int, count: int):
        e = self.entries
        elements = self.table.elements
        entry_of = self.state.entry_of
        for i in range(start, start + count):
            code, tid, ctx = entry_of(elements[i])
            k = L.ENTRY_SLOTS * i
            e[k] = code
            e[k + 1] = tid
            e[k + 2] = ctx


def table_descriptor(table, state) -> int:
    if table.type.element != ValueType.FUNCREF:
        return 0
    mirror = table.native
    if mirror is None:
        mirror = table.native = TableMirror(table, state)
    return ctypes.addressof(mirror.desc)


# --- instances -------------------------------------------------------------------------------------
class LLVMInstance:
    """Per-instance handle: the vmctx and the bindings of the instance's functions."""

    def __init__(self, store, compiled: LLVMModule, instance):
        if compiled.unsupported:
            raise WasmcoreError(f"{compiled.unsupported} is not supported by the llvm backend yet")
        if compiled.foreign:
            raise WasmcoreError(f"this module was compiled for {compiled.target}; it cannot be "
                                f"instantiated on this host ({host_target()})")
        self.compiled = compiled
        self.instance = instance
        self.module_name = instance.name if getattr(instance, "name", None) else \
            compiled.module.names.module
        state = self.state = state_of(store)
        layout = compiled.layout
        vm = self.vmctx = (U64 * max(layout.size, 2))()
        addr = self.vmctx_addr = ctypes.addressof(vm)
        vm[L.VMLayout.SHARED] = state.shared_addr
        vm[L.VMLayout.RT] = _RT_CB_ADDR
        for k, mem in enumerate(instance.memories):
            vm[layout.memory(k)] = ctypes.addressof(memory_cell(mem))
        for k, table in enumerate(instance.tables):
            vm[layout.table(k)] = table_descriptor(table, state)
        for k, glob in enumerate(instance.globals):
            if glob.type.value_type not in REF_TYPES:
                vm[layout.global_(k)] = ctypes.addressof(global_cell(glob))
        for k, ft in enumerate(compiled.module.types):
            vm[layout.type_id(k)] = type_id(ft)
        _BY_VMCTX[addr] = self
        n_imp = compiled.n_imports
        for j in range(n_imp):
            fi = instance.funcs[j]
            native = fi.native
            if fi.backend == "llvm" and native.__class__ is FuncRef and \
                    native.shared == state.shared_addr:
                vm[layout.import_code(j)] = fi.native.code
                vm[layout.import_vmctx(j)] = fi.native.vmctx
            else:
                callable_ = instance.host_calls[j]
                vm[layout.import_code(j)] = compiled.addresses[f"host_{sig_key(fi.type)}"]
                vm[layout.import_vmctx(j)] = state.host_record(fi, callable_)
        for j in range(n_imp, len(instance.funcs)):
            fi = instance.funcs[j]
            ft = fi.type
            code = compiled.addresses[f"f{j}"]
            fi.native = FuncRef(code, addr, type_id(ft), state.shared_addr)
            fi.backend = "llvm"
            fi.invoke = make_invoke(ft, compiled.entries[sig_key(ft)], addr, code, state,
                                    check_epoch=j not in compiled.entry_checked)

    def runtime_call(self, opcode, a, b, c, d):
        inst = self.instance
        state = self.state
        if opcode == L.RT_OUT_OF_FUEL:
            active = a - (1 << 64) if a >> 63 else a
            state.fuel_cell.value = active  # what the store keeps if this traps
            active = state.vm.out_of_fuel(active)
            state.fuel_cell.value = active
            return active
        if opcode == L.RT_EPOCH_DEADLINE:
            state.epoch_deadline_reached()
            return 0
        if opcode == L.RT_MEMORY_GROW:
            return inst.memories[a].grow(b & M32)
        if opcode == L.RT_TABLE_GET:
            elements = inst.tables[a].elements
            if b >= len(elements):
                raise Trap(TrapCode.TABLE_OUT_OF_BOUNDS, "out of bounds table access")
            return state.handle(elements[b])
        if opcode == L.RT_TABLE_SET:
            table = inst.tables[a]
            if b >= len(table.elements):
                raise Trap(TrapCode.TABLE_OUT_OF_BOUNDS, "out of bounds table access")
            table.set(b, state.obj(c))
            return 0
        if opcode == L.RT_TABLE_SIZE:
            return len(inst.tables[a].elements)
        if opcode == L.RT_TABLE_GROW:
            return inst.tables[a].grow(c & M32, state.obj(b))
        if opcode == L.RT_TABLE_FILL:
            table = inst.tables[a]
            n = d & M32
            if b + n > len(table.elements):
                raise Trap(TrapCode.TABLE_OUT_OF_BOUNDS, "out of bounds table access")
            if n:
                table.set_range(b, [state.obj(c)] * n)
            return 0
        if opcode == L.RT_TABLE_COPY:
            dt, st = inst.tables[a >> 32], inst.tables[a & M32]
            if c + d > len(st.elements) or b + d > len(dt.elements):
                raise Trap(TrapCode.TABLE_OUT_OF_BOUNDS, "out of bounds table access")
            if d:
                dt.set_range(b, st.elements[c:c + d])
            return 0
        if opcode == L.RT_TABLE_INIT:
            table, seg = inst.tables[a >> 32], inst.elements[a & M32]
            if c + d > len(seg) or b + d > len(table.elements):
                raise Trap(TrapCode.TABLE_OUT_OF_BOUNDS, "out of bounds table access")
            if d:
                table.set_range(b, seg[c:c + d])
            return 0
        if opcode == L.RT_ELEM_DROP:
            inst.elements[a] = []
            return 0
        if opcode == L.RT_MEMORY_INIT:
            mem, seg = inst.memories[a >> 32], inst.datas[a & M32]
            if c + d > len(seg) or b + d > mem.size:
                raise Trap(TrapCode.MEMORY_OUT_OF_BOUNDS)
            if d:
                mem.data[b:b + d] = seg[c:c + d]
            return 0
        if opcode == L.RT_DATA_DROP:
            inst.datas[a] = b""
            return 0
        if opcode == L.RT_REF_FUNC:
            return state.handle(inst.funcs[a])
        if opcode == L.RT_GLOBAL_GET_REF:
            return state.handle(inst.globals[a].value)
        if opcode == L.RT_GLOBAL_SET_REF:
            inst.globals[a].value = state.obj(b)
            return 0
        raise WasmcoreError(f"llvm backend: unknown runtime call {opcode}")


__all__ = ["LLVMModule", "LLVMInstance", "FuncRef", "type_id"]

