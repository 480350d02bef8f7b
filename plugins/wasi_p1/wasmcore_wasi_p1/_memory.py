"""Guest memory helpers: every pointer is checked against the memory's current size."""

from __future__ import annotations

import struct

from ._errno import FAULT, WasiError

_U8, _U16, _U32, _U64 = (struct.Struct(f) for f in ("<B", "<H", "<I", "<Q"))


class Memory:
    __slots__ = ("mem",)

    def __init__(self, mem):
        self.mem = mem

    def check(self, ptr: int, length: int) -> None:
        if ptr < 0 or length < 0 or ptr + length > self.mem.size:
            raise WasiError(FAULT)

    def read(self, ptr: int, length: int) -> bytes:
        self.check(ptr, length)
        return bytes(self.mem.data[ptr:ptr + length])

    def write(self, ptr: int, data: bytes) -> None:
        self.check(ptr, len(data))
        self.mem.data[ptr:ptr + len(data)] = data

    def _get(self, s, ptr):
        self.check(ptr, s.size)
        return s.unpack_from(self.mem.data, ptr)[0]

    def _set(self, s, ptr, value):
        self.check(ptr, s.size)
        s.pack_into(self.mem.data, ptr, value)

    def u8(self, p): return self._get(_U8, p)
    def u16(self, p): return self._get(_U16, p)
    def u32(self, p): return self._get(_U32, p)
    def u64(self, p): return self._get(_U64, p)
    def set_u8(self, p, v): self._set(_U8, p, v & 0xFF)
    def set_u16(self, p, v): self._set(_U16, p, v & 0xFFFF)
    def set_u32(self, p, v): self._set(_U32, p, v & 0xFFFFFFFF)
    def set_u64(self, p, v): self._set(_U64, p, v & 0xFFFFFFFFFFFFFFFF)

    def pack(self, ptr: int, fmt: str, *values) -> None:
        size = struct.calcsize(fmt)
        self.check(ptr, size)
        struct.pack_into(fmt, self.mem.data, ptr, *values)

    def iovecs(self, iovs: int, count: int) -> list[tuple[int, int]]:
        self.check(iovs, count * 8)
        out = []
        for i in range(count):
            buf, length = struct.unpack_from("<II", self.mem.data, iovs + 8 * i)
            self.check(buf, length)
            out.append((buf, length))
        return out

    def gather(self, iovs: int, count: int) -> bytes:
        return b"".join(self.read(b, n) for b, n in self.iovecs(iovs, count))

    def scatter(self, iovs: int, count: int, data: bytes) -> int:
        done = 0
        for b, n in self.iovecs(iovs, count):
            chunk = data[done:done + n]
            if chunk:
                self.write(b, chunk)
            done += len(chunk)
            if done >= len(data):
                break
        return done

    def string(self, ptr: int, length: int) -> str:
        raw = self.read(ptr, length)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            from ._errno import ILSEQ
            raise WasiError(ILSEQ) from None


def memory_of(caller) -> Memory:
    inst = caller.instance
    mem = inst.exports.get("memory") if inst is not None else None
    if mem is None:
        raise WasiError(FAULT)
    return Memory(mem)
