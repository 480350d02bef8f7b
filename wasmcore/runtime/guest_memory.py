"""Host access to a guest's linear memory: bounds-checked byte ranges, little-endian scalars,
UTF-8 strings and lists of (pointer, length) ranges, over a `MemoryInstance`.

Used by host functions that take pointers from wasm (WASI preview 1 today; the Component
Model's canonical ABI, whose loads and stores are the same little-endian accesses, spec
"Canonical ABI: load/store"). Every access is checked against the memory's *current* size
(memory.grow may have run since the last call) with Python integers, so `pointer + length`
never wraps the way a u32 sum would. Failures raise `OutOfBoundsError` or
`InvalidStringError`; each ABI maps them to its own result (an errno, a trap).
"""

from __future__ import annotations

import struct

from wasmcore.errors import WasmcoreError

_U8, _U16, _U32, _U64 = (struct.Struct(code) for code in ("<B", "<H", "<I", "<Q"))
_RANGE = struct.Struct("<II")  # one (pointer, length) pair: WASI's iovec, a canonical list


class GuestMemoryError(WasmcoreError):
    """A host access to guest memory that the guest's arguments made impossible."""


class OutOfBoundsError(GuestMemoryError):
    """`length` bytes at `pointer` do not lie inside the memory's `size` bytes."""

    def __init__(self, pointer: int, length: int, size: int):
        self.pointer = pointer
        self.length = length
        self.size = size
        super().__init__(f"guest memory access of {length} bytes at {pointer:#x} is out of "
                         f"bounds (memory size {size:#x})")


class InvalidStringError(GuestMemoryError):
    """The bytes at `pointer` are not a valid string in the expected encoding."""

    def __init__(self, pointer: int, length: int, reason: str):
        self.pointer = pointer
        self.length = length
        super().__init__(f"guest string of {length} bytes at {pointer:#x} is not valid UTF-8: "
                         f"{reason}")


class GuestMemory:
    """Checked access to one linear memory. Cheap to create (one per host call is fine); the
    memory's bytes never move (MemoryInstance reserves its maximum up front), so the buffer is
    kept, while the size is read on every access."""

    __slots__ = ("memory", "data")

    def __init__(self, memory):
        self.memory = memory
        self.data = memory.data

    @property
    def size(self) -> int:
        return self.memory.size

    def check(self, pointer: int, length: int) -> None:
        """Raise OutOfBoundsError unless [pointer, pointer + length) is inside the memory."""
        size = self.memory.size
        if pointer < 0 or length < 0 or pointer + length > size:
            raise OutOfBoundsError(pointer, length, size)

    # --- byte ranges ---------------------------------------------------------------------------
    def read(self, pointer: int, length: int) -> bytes:
        """A copy of the range (one copy: slicing the mmap already makes the bytes)."""
        self.check(pointer, length)
        return bytes(self.data[pointer:pointer + length])

    def write(self, pointer: int, data: bytes | bytearray | memoryview) -> None:
        self.check(pointer, len(data))
        self.data[pointer:pointer + len(data)] = data

    def read_string(self, pointer: int, length: int) -> str:
        """The UTF-8 string in the range; InvalidStringError if it does not decode."""
        raw = self.read(pointer, length)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidStringError(pointer, length, exc.reason) from None

    # --- little-endian scalars and structs ------------------------------------------------------
    def unpack(self, pointer: int, layout: struct.Struct) -> tuple:
        """The values of a little-endian struct (`layout` should start with "<")."""
        size = self.memory.size
        if pointer < 0 or pointer + layout.size > size:
            raise OutOfBoundsError(pointer, layout.size, size)
        return layout.unpack_from(self.data, pointer)

    def pack(self, pointer: int, layout: struct.Struct, *values) -> None:
        size = self.memory.size
        if pointer < 0 or pointer + layout.size > size:
            raise OutOfBoundsError(pointer, layout.size, size)
        layout.pack_into(self.data, pointer, *values)

    def load_u8(self, pointer: int) -> int:
        return self.unpack(pointer, _U8)[0]

    def load_u16(self, pointer: int) -> int:
        return self.unpack(pointer, _U16)[0]

    def load_u32(self, pointer: int) -> int:
        return self.unpack(pointer, _U32)[0]

    def load_u64(self, pointer: int) -> int:
        return self.unpack(pointer, _U64)[0]

    # Stores keep the low bits, as a wasm store of a wider value does.
    def store_u8(self, pointer: int, value: int) -> None:
        self.pack(pointer, _U8, value & 0xFF)

    def store_u16(self, pointer: int, value: int) -> None:
        self.pack(pointer, _U16, value & 0xFFFF)

    def store_u32(self, pointer: int, value: int) -> None:
        self.pack(pointer, _U32, value & 0xFFFF_FFFF)

    def store_u64(self, pointer: int, value: int) -> None:
        self.pack(pointer, _U64, value & 0xFFFF_FFFF_FFFF_FFFF)

    # --- lists of ranges (iovecs) ----------------------------------------------------------------
    def ranges(self, pointer: int, count: int) -> list[tuple[int, int]]:
        """`count` consecutive (u32 pointer, u32 length) pairs at `pointer`, each range checked:
        WASI's iovec array, and the canonical ABI's layout of a list of strings or byte lists."""
        self.check(pointer, count * _RANGE.size)
        data, size = self.data, self.memory.size
        out = []
        for offset in range(pointer, pointer + count * _RANGE.size, _RANGE.size):
            start, length = _RANGE.unpack_from(data, offset)
            if start + length > size:
                raise OutOfBoundsError(start, length, size)
            out.append((start, length))
        return out

    def gather(self, ranges: list[tuple[int, int]]) -> bytes:
        """The concatenated bytes of checked `ranges` (as returned by `ranges`)."""
        data = self.data
        if len(ranges) == 1:
            start, length = ranges[0]
            return bytes(data[start:start + length])
        return b"".join([data[start:start + length] for start, length in ranges])

    def scatter(self, ranges: list[tuple[int, int]], payload: bytes) -> int:
        """Fill checked `ranges` in order with `payload`; returns the bytes placed (all of
        them, unless the ranges are shorter)."""
        data = self.data
        done = 0
        for start, length in ranges:
            if done >= len(payload):
                break
            chunk = payload[done:done + length]
            data[start:start + len(chunk)] = chunk
            done += len(chunk)
        return done


__all__ = ["GuestMemory", "GuestMemoryError", "OutOfBoundsError", "InvalidStringError"]
