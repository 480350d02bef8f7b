"""Store-owned runtime objects shared by every backend (spec "Runtime Structure",
https://webassembly.github.io/spec/core/exec/runtime.html).

Values cross between the core and backends in the *bits convention*: every number is the
unsigned integer of its bit pattern (i32 in [0, 2**32), i64 in [0, 2**64), f32/f64 as their
IEEE bits, v128 in [0, 2**128)), so NaN payloads survive every boundary. A funcref is a
`FuncInstance` or None; an externref is any Python object, None being null. Backends may use
any representation inside their own code and convert at these boundaries.
"""

from __future__ import annotations

import mmap
from typing import Any, Callable

from wasmcore.kernel import limits as _limits
from wasmcore.errors import Trap, TrapCode
from wasmcore.syntax.types import (
    DecodedModule,
    FuncType,
    GlobalType,
    MemoryType,
    TableType,
)

PAGE_SIZE = 65536
_MAP_NORESERVE = getattr(mmap, "MAP_NORESERVE", 0x4000)  # Linux value; Python 3.11 lacks the name


class MemoryInstance:
    """A linear memory. Its bytes live in one anonymous mapping reserved up front for the
    memory's maximum, so growing never moves them: `data` (an mmap) and any memoryview of it
    stay valid, and a native backend may keep the base address. `size` is the current length in
    bytes; every access must be checked against it (the mapping is longer)."""

    # `native`: an optional cell a native backend reads {base, size} from (anything with a
    # settable second item, e.g. a ctypes array of two u64); grow keeps its size current.
    __slots__ = ("type", "data", "size", "maximum_pages", "limiter", "native", "__weakref__")

    def __init__(self, type: MemoryType, limiter: Any = None):
        self.type = type
        self.native = None
        self.limiter = limiter  # store limits (has memory_growing), or None
        maximum = type.limits.max
        cap = _limits.MAX_MEMORY_PAGES_64 if type.is_64 else _limits.MAX_MEMORY_PAGES_32
        self.maximum_pages = cap if maximum is None else min(maximum, cap)
        initial_bytes = type.limits.min * PAGE_SIZE
        self.data = _reserve(max(initial_bytes, min(self.maximum_pages * PAGE_SIZE,
                                                    _limits.MAX_MEMORY_RESERVATION)),
                             minimum=initial_bytes)
        self.size = initial_bytes
        # A smaller reservation than the maximum (strict overcommit) caps growth there.
        self.maximum_pages = min(self.maximum_pages, len(self.data) // PAGE_SIZE)

    @property
    def pages(self) -> int:
        return self.size // PAGE_SIZE

    def grow(self, delta_pages: int) -> int:
        """Grow by `delta_pages`; the old size in pages, or -1 if refused (wasm semantics)."""
        old_pages = self.size // PAGE_SIZE
        new_pages = old_pages + delta_pages
        if new_pages > self.maximum_pages:
            _grow_failed(self.limiter, "memory")
            return -1
        if self.limiter is not None and delta_pages and not self.limiter.memory_growing(
                self.size, new_pages * PAGE_SIZE, self.type.limits.max):
            return -1
        self.size = new_pages * PAGE_SIZE
        if self.native is not None:
            self.native[1] = self.size
        return old_pages

    def release(self) -> None:
        """Its store is closed: every later access is out of bounds (size 0, for native code
        too) and the pages go back to the system now; the mapping itself is unmapped when the
        last reference goes (a live memoryview of it may still exist)."""
        self.size = 0
        self.maximum_pages = 0
        if self.native is not None:
            self.native[1] = 0
        try:
            self.data.madvise(mmap.MADV_DONTNEED)
        except (AttributeError, OSError, ValueError):  # platform without it, or already closed
            pass

    def read(self, start: int, stop: int) -> bytes:
        if not 0 <= start <= stop <= self.size:
            raise Trap(TrapCode.MEMORY_OUT_OF_BOUNDS)
        return self.data[start:stop]

    def write(self, value: bytes | bytearray | memoryview, start: int) -> None:
        stop = start + len(value)
        if not 0 <= start <= stop <= self.size:
            raise Trap(TrapCode.MEMORY_OUT_OF_BOUNDS)
        self.data[start:stop] = value


def _grow_failed(limiter: Any, what: str) -> None:
    """Growth beyond the maximum: store limits may make that a trap (trap_on_grow_failure)."""
    grow_failed = getattr(limiter, "grow_failed", None)
    if grow_failed is not None:
        grow_failed(what)


def _reserve(length: int, minimum: int) -> mmap.mmap:
    flags = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | _MAP_NORESERVE
    length = max(length, PAGE_SIZE)  # mmap refuses length 0; a 0-page memory still has size 0
    while True:
        try:
            return mmap.mmap(-1, length, flags=flags)
        except (OSError, OverflowError):
            if length <= max(minimum, PAGE_SIZE):
                raise Trap(TrapCode.ALLOCATION_TOO_LARGE,
                           f"cannot reserve {length} bytes for a linear memory") from None
            length = max(minimum, PAGE_SIZE, length // 4 // PAGE_SIZE * PAGE_SIZE)


class TableInstance:
    """A table: a Python list of references (FuncInstance/None, or externref objects).

    Write elements only through `set`, `set_range` and `grow`: a native backend may attach a
    mirror (`native`, with `changed(start, count)` and `grown()`) that they keep in sync."""

    __slots__ = ("type", "elements", "maximum", "limiter", "native", "__weakref__")

    def __init__(self, type: TableType, init: Any = None, limiter: Any = None):
        self.type = type
        self.native = None
        self.limiter = limiter
        self.maximum = type.limits.max if type.limits.max is not None else _limits.MAX_TABLE_INDEX
        if type.limits.min > _limits.MAX_TABLE_ELEMENTS:
            raise Trap(TrapCode.ALLOCATION_TOO_LARGE,
                       f"table of {type.limits.min} elements exceeds the limit of "
                       f"{_limits.MAX_TABLE_ELEMENTS}")
        self.elements: list = [init] * type.limits.min

    @property
    def size(self) -> int:
        return len(self.elements)

    def grow(self, delta: int, init: Any) -> int:
        """Grow by `delta` entries filled with `init`; the old size, or -1 if refused."""
        old = len(self.elements)
        new = old + delta
        if new > self.maximum or new > _limits.MAX_TABLE_ELEMENTS:
            _grow_failed(self.limiter, "table")
            return -1
        if self.limiter is not None and delta and not self.limiter.table_growing(
                old, new, self.type.limits.max):
            return -1
        self.elements.extend([init] * delta)
        if self.native is not None:
            self.native.grown()
        return old

    def set(self, index: int, value: Any) -> None:
        """elements[index] = value (the caller checked the bounds)."""
        self.elements[index] = value
        if self.native is not None:
            self.native.changed(index, 1)

    def set_range(self, start: int, values: list) -> None:
        """elements[start:start + len(values)] = values (the caller checked the bounds)."""
        self.elements[start:start + len(values)] = values
        if self.native is not None:
            self.native.changed(start, len(values))


class GlobalInstance:
    """A global; `value` is in the bits convention. `native` is None, or the cell a native
    backend moved the value into (then the object's class is a subclass whose `value` reads
    and writes that cell, so every holder sees one value)."""

    __slots__ = ("type", "value", "native", "__weakref__")

    def __init__(self, type: GlobalType, value: Any):
        self.type = type
        self.value = value
        self.native = None


class FuncInstance:
    """A function: defined by a module instance (filled in by its backend) or by the host.

    `invoke(*args)` takes and returns values in the bits convention (the result always a
    tuple); it is the generic entry used by the core and by other backends. `native` and
    `backend` let the owning backend take a faster path when it calls its own functions
    (e.g. interp calls its compiled Python function directly). `host` is set for host
    functions: a `HostFunction` from `wasmcore.plugin`.
    """

    __slots__ = ("type", "invoke", "native", "backend", "host", "instance", "index", "name",
                 "__weakref__")

    def __init__(self, type: FuncType, invoke: Callable[..., tuple] | None = None, *,
                 native: Any = None, backend: str | None = None, host: Any = None,
                 instance: "ModuleInstance | None" = None, index: int | None = None,
                 name: str | None = None):
        self.type = type
        self.invoke = invoke if invoke is not None else _not_instantiated
        self.native = native
        self.backend = backend
        self.host = host
        self.instance = instance
        self.index = index
        self.name = name

    def __repr__(self) -> str:
        return f"<FuncInstance {self.name or self.index} {self.type}>"


def _not_instantiated(*args: Any) -> tuple:
    raise Trap(TrapCode.UNREACHABLE, "function called before its instance was initialized")


class ModuleInstance:
    """The runtime state of one instantiated module (spec "module instance").

    Index spaces list imports first. `elements[i]` / `datas[i]` are the segments' current
    contents (a list of references / bytes), emptied by elem.drop / data.drop.
    `exports` maps names to the runtime objects above. `handle` is whatever the backend's
    `wasmcore_instantiate` returned; `store` is the owning Store. `host_calls[j]` is the
    adapter the core made (once, through `wasmcore_host_call`) for imported function `j` if it
    is a host function, else None. `allocation` is what the allocator handed out.
    """

    __slots__ = ("module", "compiled", "store", "types", "funcs", "tables", "memories",
                 "globals", "elements", "datas", "exports", "handle", "name", "host_calls",
                 "allocation", "__weakref__")

    def __init__(self, module: DecodedModule, compiled: Any, store: Any):
        self.module = module
        self.compiled = compiled
        self.store = store
        self.types: tuple[FuncType, ...] = module.types
        self.funcs: list[FuncInstance] = []
        self.tables: list[TableInstance] = []
        self.memories: list[MemoryInstance] = []
        self.globals: list[GlobalInstance] = []
        self.elements: list[list] = []
        self.datas: list[bytes] = []
        self.exports: dict[str, Any] = {}
        self.handle: Any = None
        self.name: str | None = module.names.module
        self.host_calls: list[Any] = []
        self.allocation: Any = None


ExternInstance = FuncInstance | TableInstance | MemoryInstance | GlobalInstance

__all__ = [
    "PAGE_SIZE",
    "MemoryInstance",
    "TableInstance",
    "GlobalInstance",
    "FuncInstance",
    "ModuleInstance",
    "ExternInstance",
]
