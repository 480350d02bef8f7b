"""`Memory`, `Table` and `Global` of the embedding API, over the runtime objects."""

from __future__ import annotations

from typing import Any

from wasmcore.api.types import GlobalType, MemoryType, TableType
from wasmcore.errors import Trap, WasmcoreError
from wasmcore.runtime import PAGE_SIZE, GlobalInstance, MemoryInstance, TableInstance
from wasmcore.runtime.values import from_python, to_python


class Memory:
    """A linear memory: `Memory(store, MemoryType(Limits(1, None)))`. Its bytes never move on
    `grow`, so `view(store)` (a zero-copy memoryview) stays valid; re-take it after growth to
    see the new length."""

    __slots__ = ("_memory",)

    def __init__(self, store: Any, ty: MemoryType):
        if not isinstance(ty, MemoryType):
            raise TypeError("expected a MemoryType")
        store = getattr(store, "_store_ref", store)
        self._memory = MemoryInstance(ty._type, store._limiter)

    @classmethod
    def _from_instance(cls, memory: MemoryInstance) -> "Memory":
        self = cls.__new__(cls)
        self._memory = memory
        return self

    def type(self, store: Any = None) -> MemoryType:
        return MemoryType._from(self._memory.type)

    def grow(self, store: Any, delta: int) -> int:
        if delta < 0:
            raise WasmcoreError("cannot grow memory by a negative number of pages")
        old = self._memory.grow(delta)
        if old < 0:
            raise WasmcoreError("failed to grow memory")
        return old

    def size(self, store: Any = None) -> int:
        return self._memory.pages

    def data_len(self, store: Any = None) -> int:
        return self._memory.size

    def view(self, store: Any = None) -> memoryview:
        return memoryview(self._memory.data)[: self._memory.size]

    def read(self, store: Any, start: int | None = 0, stop: int | None = None) -> bytearray:
        size = self._memory.size
        start = 0 if start is None else start
        stop = size if stop is None else stop
        start, stop = (size + start if start < 0 else start), (size + stop if stop < 0 else stop)
        if not 0 <= start <= stop <= size:
            raise IndexError("memory read out of bounds")
        return bytearray(self._memory.data[start:stop])

    def write(self, store: Any, value: bytes | bytearray | memoryview, start: int = 0) -> int:
        size = self._memory.size
        if start < 0:
            start += size
        if not 0 <= start <= start + len(value) <= size:
            raise IndexError("memory write out of bounds")
        self._memory.data[start:start + len(value)] = bytes(value)
        return len(value)

    def data_ptr(self, store: Any = None):
        import ctypes

        return ctypes.cast(ctypes.addressof(ctypes.c_char.from_buffer(self._memory.data)),
                           ctypes.POINTER(ctypes.c_ubyte))

    def get_buffer_ptr(self, store: Any = None, size: int | None = None, offset: int = 0):
        """A ctypes `c_ubyte` array over the memory (zero-copy; e.g. for `numpy.frombuffer`).
        The memory never moves, so the array stays valid after `grow`."""
        import ctypes

        length = self.data_len(store)
        if size is None:
            size = length - offset
        if offset < 0 or size < 0 or offset + size > length:
            raise IndexError("buffer range out of bounds")
        base = ctypes.addressof(ctypes.c_char.from_buffer(self._memory.data))
        return (ctypes.c_ubyte * size).from_address(base + offset)

    def page_size(self, store: Any = None) -> int:
        return PAGE_SIZE

    def page_size_log2(self, store: Any = None) -> int:
        return PAGE_SIZE.bit_length() - 1


class Table:
    __slots__ = ("_table",)

    def __init__(self, store: Any, ty: TableType, init: Any):
        if not isinstance(ty, TableType):
            raise TypeError("expected a TableType")
        store = getattr(store, "_store_ref", store)
        self._table = TableInstance(ty._type, from_python(ty._type.element, init, store),
                                    store._limiter)

    @classmethod
    def _from_instance(cls, table: TableInstance) -> "Table":
        self = cls.__new__(cls)
        self._table = table
        return self

    def type(self, store: Any = None) -> TableType:
        return TableType._from(self._table.type)

    def size(self, store: Any = None) -> int:
        return self._table.size

    def grow(self, store: Any, amt: int, init: Any) -> int:
        old = self._table.grow(amt, from_python(self._table.type.element, init, store))
        if old < 0:
            raise WasmcoreError("failed to grow table")
        return old

    def get(self, store: Any, idx: int) -> Any:
        if not 0 <= idx < self._table.size:
            return None
        return to_python(self._table.type.element, self._table.elements[idx], store)

    def set(self, store: Any, idx: int, val: Any) -> None:
        if not 0 <= idx < self._table.size:
            raise WasmcoreError("table index out of bounds")
        self._table.set(idx, from_python(self._table.type.element, val, store))


class Global:
    __slots__ = ("_global",)

    def __init__(self, store: Any, ty: GlobalType, val: Any):
        if not isinstance(ty, GlobalType):
            raise TypeError("expected a GlobalType")
        self._global = GlobalInstance(ty._type, from_python(ty._type.value_type, val, store))

    @classmethod
    def _from_instance(cls, global_: GlobalInstance) -> "Global":
        self = cls.__new__(cls)
        self._global = global_
        return self

    def type(self, store: Any = None) -> GlobalType:
        return GlobalType._from(self._global.type)

    def value(self, store: Any = None) -> Any:
        return to_python(self._global.type.value_type, self._global.value, store)

    def set_value(self, store: Any, val: Any) -> None:
        if not self._global.type.mutable:
            raise WasmcoreError("global is immutable")
        self._global.value = from_python(self._global.type.value_type, val, store)


__all__ = ["Memory", "Table", "Global", "Trap"]
