"""The plugin author's surface: `hookimpl`, the protocols hooks exchange, and `StashKey`.

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
    state in a core object's stash instead of adding attributes to it (pytest's StashKey)."""

    __slots__ = ("name",)

    def __init__(self, name: str = ""):
        self.name = name

    def __repr__(self) -> str:
        return f"StashKey({self.name!r})"


@runtime_checkable
class CompiledModule(Protocol):
    """What `wasmcore_compile` returns: the backend's compiled form of one validated module.
    Held by the public `Module` and shared by every instance of it."""

    module: "DecodedModule"
    backend: str  # the entry-point name of the backend that compiled it
    # Optional, read by the artifact writer: the triple of the machine code (None or absent =
    # target-independent, loads on any host) and the CPU features it may use.
    target: "str | None"
    cpu_features: str
    # Optional: True if the code enforces fuel / epoch deadlines (Engine.check_compiled).
    supports_fuel: bool
    supports_epochs: bool

    def code_regions(self) -> list["CodeRegion"]:
        """Native code published for this module (empty for interpreters); for profilers."""
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
    index order (imports excluded), and a release callback run when the instance dies."""

    memories: list = field(default_factory=list)
    tables: list = field(default_factory=list)
    release: Callable[[], None] | None = None


__all__ = [
    "hookimpl",
    "hookspec",
    "StashKey",
    "CompiledModule",
    "CodeRegion",
    "HostFunction",
    "HostModule",
    "Allocation",
]
