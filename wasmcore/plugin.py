"""The plugin author's surface: `hookimpl`, the backend contract (`Backend` and its feature
names), the allocator and profiler contracts, the protocols hooks exchange, and `StashKey`.

A plugin imports only this module (plus `wasmcore.syntax`, `wasmcore.runtime` and
`wasmcore.errors` for the data it receives). See docs/plugins.md for a worked example.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Generic, Literal, Protocol, TypeVar, runtime_checkable

import pluggy

if TYPE_CHECKING:
    from wasmcore.syntax.types import DecodedModule, FuncType

PROJECT_NAME = "wasmcore"

hookimpl = pluggy.HookimplMarker(PROJECT_NAME)
hookspec = pluggy.HookspecMarker(PROJECT_NAME)

T = TypeVar("T")


class StashKey(Generic[T]):
    """A typed key for per-object plugin state: `store.stash[KEY] = value`. Plugins keep their
    state in a core object's stash instead of adding attributes to it (pytest's StashKey).
    Keys compare by identity, so two plugins can never collide on a name."""

    __slots__ = ("name",)

    def __init__(self, name: str = ""):
        self.name = name

    def __repr__(self) -> str:
        return f"StashKey({self.name!r})"


_MISSING: Any = object()


class Stash:
    """Plugin state on a core object (`Engine.stash`, `Store.stash`), keyed by `StashKey`s
    only: a plugin cannot overwrite another's entry by spelling its name."""

    __slots__ = ("_items",)

    def __init__(self) -> None:
        self._items: dict[StashKey, Any] = {}

    @staticmethod
    def _check(key: Any) -> None:
        if not isinstance(key, StashKey):
            raise TypeError(f"stash keys are wasmcore.plugin.StashKey objects, got {key!r}")

    def __setitem__(self, key: "StashKey[T]", value: T) -> None:
        self._check(key)
        self._items[key] = value

    def __getitem__(self, key: "StashKey[T]") -> T:
        self._check(key)
        return self._items[key]

    def get(self, key: "StashKey[T]", default: Any = None) -> "T | Any":
        self._check(key)
        return self._items.get(key, default)

    def setdefault(self, key: "StashKey[T]", default: T) -> T:
        self._check(key)
        return self._items.setdefault(key, default)

    def pop(self, key: "StashKey[T]", default: Any = _MISSING) -> "T | Any":
        self._check(key)
        if default is _MISSING:
            return self._items.pop(key)
        return self._items.pop(key, default)

    def __delitem__(self, key: "StashKey[T]") -> None:
        self._check(key)
        del self._items[key]

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)

    def clear(self) -> None:
        self._items.clear()


# --- the backend contract --------------------------------------------------------------------

# What a backend may declare in `Backend.features`. The Wasm proposal names are the fields of
# `wasmcore.syntax.features.WasmFeatures`; the rest are engine settings only a backend can
# honour. The Engine refuses a setting or feature its backend does not declare.
WASM_FEATURES = frozenset({
    "mutable_globals", "sign_extension", "saturating_float_to_int", "multi_value",
    "bulk_memory", "reference_types", "simd", "tail_call", "multi_memory", "memory64",
    "extended_const", "function_references", "gc", "exceptions", "relaxed_simd", "threads",
})
ENGINE_FEATURES = frozenset({
    "fuel",                   # config.consume_fuel
    "epochs",                 # config.epoch_interruption
    "parallel_compilation",   # config.parallel_compilation = True (functions compiled in parallel)
    "debug_info",             # config.debug_info = True (native debuggers see wasm code)
    "debug_verifier",         # config.cranelift_debug_verifier = True (generated code verified)
    "relaxed_simd_deterministic",  # config.wasm_relaxed_simd_deterministic = True
    "cross_compile",          # config.target = another triple
})
FEATURES = WASM_FEATURES | ENGINE_FEATURES


class Backend:
    """An execution backend, registered by name through `wasmcore_register_backends`.

    Subclass it, set `name` (what `config.backend` and `--backend` select) and `features`
    (names from `FEATURES`: what the generated code really implements), and implement
    `compile` and `instantiate`. The Engine resolves exactly one backend; the core then calls
    these methods through the `wasmcore_compile` / `wasmcore_instantiate` / ... hooks, so
    other plugins can wrap them (a profiler wrapping compile is not a backend)."""

    name: str = ""
    features: frozenset[str] = frozenset()
    # True if compiled code runs on any host (no machine code): its artifacts load anywhere.
    target_independent: bool = False

    def compile(self, engine: Any, module: "DecodedModule") -> "CompiledModule":
        """Compile one validated module (once; the result is shared by its instances). Every
        compile error is raised here, never deferred to the first call."""
        raise NotImplementedError

    def instantiate(self, store: Any, compiled: "CompiledModule", instance: Any) -> Any:
        """Make the defined functions of `instance` (a ModuleInstance) callable; return the
        per-instance handle. `instance.host_calls[j]` holds the adapter of each imported host
        function, made once by the core through `wasmcore_host_call`."""
        raise NotImplementedError

    def host_call(self, store: Any, func: Any, host: "HostFunction", instance: Any) -> Any:
        """Adapt an imported host function for calls from this backend's code, or None for
        the generic bits-convention `func.invoke`."""
        return None

    def serialize(self, engine: Any, compiled: "CompiledModule") -> bytes | None:
        """The AOT payload of `compiled`, or None to keep none (it is recompiled on load)."""
        return None

    def deserialize(self, engine: Any, module: "DecodedModule", payload: bytes,
                    header: Any) -> "CompiledModule | None":
        """Rebuild a compiled module from `serialize`'s payload, or None to recompile."""
        return None

    def __repr__(self) -> str:
        return f"<Backend {self.name!r} features={sorted(self.features)}>"


# --- allocators and profilers ------------------------------------------------------------------

class Allocator:
    """An instance allocator, registered by name through `wasmcore_register_allocators` and
    chosen by `config.allocation_strategy` (the core registers "on-demand")."""

    name: str = ""

    def allocate(self, engine: Any, store: Any, module: "DecodedModule") -> "Allocation":
        raise NotImplementedError

    def release(self, engine: Any, store: Any, allocation: "Allocation") -> None:
        """The instance's store was closed or collected: take back its memories and tables."""


class Profiler:
    """A profiler, registered by name through `wasmcore_register_profilers` and chosen by
    `config.profiler`. `start(engine)` returns the engine's profiling session, which hears
    `code_published(module, functions)` and `close()`."""

    name: str = ""

    def start(self, engine: Any) -> Any:
        raise NotImplementedError


@dataclass(frozen=True)
class PublishedFunction:
    """One function whose code became callable (`wasmcore_code_published`): machine code at
    `address`/`size` (native backends) or a Python `code` object (interp)."""

    index: int  # the wasm function index
    name: str  # from the name section, else "wasm-function[index]"
    address: int = 0
    size: int = 0
    code: Any = None


@runtime_checkable
class CompiledModule(Protocol):
    """What `Backend.compile` returns: the backend's compiled form of one validated module.
    Held by the public `Module` and shared by every instance of it."""

    module: "DecodedModule"
    backend: str  # the name of the backend that compiled it
    # Optional, read by the artifact writer: the triple of the machine code (None or absent =
    # target-independent, loads on any host) and the CPU features it may use.
    target: "str | None"
    cpu_features: str

    def published_functions(self) -> list["PublishedFunction"]:
        """The functions callable now (for `wasmcore_code_published`); a backend that
        compiles lazily publishes the rest through `engine.plugins.code_published` later."""
        ...


@dataclass(frozen=True)
class CodeRegion:
    """One function's machine code, as profilers (perf map, JitDump) need it."""

    name: str
    address: int
    size: int


@dataclass
class HostFunction:
    """A function the host provides to wasm.

    `convention` says what the callable receives and returns:
    - "python": wasmtime-py's values (i32/i64 signed ints, f32/f64 floats, v128 int, funcref a
      `Func` or None, externref any object); returns None, one value, or a sequence;
    - "bits": the bits convention of `wasmcore.runtime` (unsigned ints; refs as FuncInstance /
      object); returns None, one value or a tuple. Faster; used by WASI.
    With `access_caller`, the first argument is a `wasmcore.Caller` (`caller.store`,
    `caller.get(name)`, and `caller.instance`, the calling ModuleInstance).
    """

    type: "FuncType"
    callable: Callable[..., Any]
    access_caller: bool = False
    convention: Literal["python", "bits"] = "python"
    name: str = ""


@runtime_checkable
class HostModule(Protocol):
    """A named group of host functions registered by a plugin through
    `wasmcore_register_host_modules` (e.g. WASI preview 1). Per-store state lives in the
    store's stash, reached through the caller."""

    name: str  # the import module name, e.g. "wasi_snapshot_preview1"
    kind: str  # a family; `Linker.define_wasi()` defines every host module of kind "wasi"

    def functions(self) -> dict[str, HostFunction]: ...


@dataclass
class Allocation:
    """What `wasmcore_allocate` returns: the defined memories and tables of one instance, in
    index order (imports excluded). `Store.close()` hands it back through `wasmcore_release`;
    when the store is collected instead, the release gets the memories and the slot with an
    empty table list (the tables are garbage by then). `slot` is the allocator's own
    bookkeeping."""

    memories: list = field(default_factory=list)
    tables: list = field(default_factory=list)
    slot: Any = None


__all__ = [
    "hookimpl",
    "hookspec",
    "StashKey",
    "Stash",
    "Backend",
    "FEATURES",
    "WASM_FEATURES",
    "ENGINE_FEATURES",
    "Allocator",
    "Profiler",
    "PublishedFunction",
    "CompiledModule",
    "CodeRegion",
    "HostFunction",
    "HostModule",
    "Allocation",
]
