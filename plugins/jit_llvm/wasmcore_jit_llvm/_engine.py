"""What the llvm backend sets up per Engine (docs/jit_llvm.md, "AOT artifacts" and "Compile
time"): LLVM's native target (once per process), a TargetMachine per compile (the host's CPU
and features, or the generic CPU of a cross-compilation triple), the IR pipeline, and the
engine's state: the canonical ids of function types that call_indirect compares.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import threading
import weakref

import llvmlite.binding as llvm
from llvmlite.binding.newpassmanagers import NewPassManager

from wasmcore.errors import WasmcoreError
from wasmcore.plugin import StashKey

_init_lock = threading.Lock()
# LLVM's target registry is process-wide state, so its initialization is too: the host's
# Target, CPU name and features (three fixed values, read once), and whether every other
# target was initialized for cross-compilation. Nothing here grows or refers to a module.
_host: list = []
_all_targets_ready = False


def target_machine(opt: int, triple: str | None = None):
    """A new TargetMachine (an MCJIT engine takes ownership of the one it is given) and the CPU
    features it compiles for: the host's, or a baseline for `triple` (cross-compilation)."""
    global _all_targets_ready
    with _init_lock:
        if not _host:
            llvm.initialize_native_target()
            llvm.initialize_native_asmprinter()
            _host.extend((llvm.Target.from_default_triple(), llvm.get_host_cpu_name(),
                          llvm.get_host_cpu_features().flatten()))
        if triple is not None and not _all_targets_ready:
            llvm.initialize_all_targets()
            llvm.initialize_all_asmprinters()
            _all_targets_ready = True
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


def host_cpu_features() -> str:
    target_machine(0)
    return _host[2]


def sp_register(triple: str):
    """The stack pointer register generated code reads for its stack check, if known."""
    if triple.startswith("x86_64"):
        return "rsp"
    if triple.startswith(("aarch64", "arm64")):
        return "sp"
    return None


@contextlib.contextmanager
def no_gc():
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
        mpm = pb.getModulePassManager()
        try:
            mpm.run(llmod, pb)
        finally:
            # llvmlite (0.50 at least) never frees a ModulePassManager: ObjectRef's empty _dispose
            # comes first in its bases. Each one kept ~80 KiB (the pipeline and what its
            # analyses cached) per compiled module.
            NewPassManager._dispose(mpm)
            mpm.detach()


# --- per engine ---------------------------------------------------------------------------------
class EngineState:
    """Per engine: canonical ids of function types (structural; 0 is the null entry). The
    vmctx type slots and table entries of every llvm instance in a store of this engine use
    them, so modules sharing tables and functions agree on them. They are assigned when an
    instance is bound, never compiled into code, so AOT artifacts carry none."""

    def __init__(self):
        self.type_ids: dict = {}
        self._next_id = itertools.count(1)
        self._lock = threading.Lock()

    def type_id(self, ft) -> int:
        tid = self.type_ids.get(ft)
        if tid is None:
            with self._lock:  # two threads must not give two types one id
                tid = self.type_ids.get(ft)
                if tid is None:
                    tid = self.type_ids[ft] = next(self._next_id)
        return tid


ENGINE_KEY: StashKey = StashKey("llvm engine")
# Engines without a stash (older cores): their state dies with them.
_unstashed: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def engine_state(engine) -> EngineState:
    stash = getattr(engine, "stash", None)
    if stash is not None:
        state = stash.get(ENGINE_KEY)
        if state is None:
            state = stash[ENGINE_KEY] = EngineState()
        return state
    if engine is None:
        return EngineState()  # a store without an engine shares its types with nothing
    try:
        state = _unstashed.get(engine)
        if state is None:
            state = _unstashed[engine] = EngineState()
    except TypeError:  # not weakly referenceable: nothing to share with either
        state = EngineState()
    return state
