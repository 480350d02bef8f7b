"""A fake caller for calling WASI host functions directly."""

from __future__ import annotations

import struct
from types import SimpleNamespace

from wasmcore.runtime import MemoryInstance
from wasmcore.syntax.types import Limits, MemoryType
from wasmcore.wasi import WASI_CONTEXT, WasiConfig
from wasmcore_wasi_p1 import host_module


class Guest:
    def __init__(self, cfg: WasiConfig | None = None):
        self.cfg = cfg or WasiConfig()
        self.mem = MemoryInstance(MemoryType(Limits(1)))
        self.caller = SimpleNamespace(store=SimpleNamespace(stash={}, wasi_config=self.cfg),
                                      instance=SimpleNamespace(exports={"memory": self.mem}))
        self.funcs = host_module().functions()
        self.heap = 1024

    def call(self, name: str, *args):
        return self.funcs[name].callable(self.caller, *args)

    @property
    def ctx(self):
        return self.caller.store.stash[WASI_CONTEXT]

    # memory helpers
    def alloc(self, size: int) -> int:
        ptr = self.heap
        self.heap += (size + 15) & ~15
        return ptr

    def put(self, data: bytes) -> tuple[int, int]:
        ptr = self.alloc(len(data))
        self.mem.data[ptr:ptr + len(data)] = data
        return ptr, len(data)

    def get(self, ptr: int, n: int) -> bytes:
        return bytes(self.mem.data[ptr:ptr + n])

    def u32(self, ptr: int) -> int:
        return struct.unpack_from("<I", self.mem.data, ptr)[0]

    def u64(self, ptr: int) -> int:
        return struct.unpack_from("<Q", self.mem.data, ptr)[0]

    def iov(self, *bufs: tuple[int, int]) -> tuple[int, int]:
        ptr = self.alloc(8 * len(bufs))
        for i, (b, n) in enumerate(bufs):
            struct.pack_into("<II", self.mem.data, ptr + 8 * i, b, n)
        return ptr, len(bufs)

    # high-level calls
    def write(self, fd: int, data: bytes) -> tuple[int, int]:
        iovs, n = self.iov(self.put(data))
        out = self.alloc(4)
        err = self.call("fd_write", fd, iovs, n, out)
        return err, self.u32(out)

    def read(self, fd: int, size: int) -> tuple[int, bytes]:
        buf = self.alloc(size)
        iovs, n = self.iov((buf, size))
        out = self.alloc(4)
        err = self.call("fd_read", fd, iovs, n, out)
        return err, self.get(buf, self.u32(out)) if err == 0 else b""

    def open(self, dirfd: int, path: str, oflags: int = 0, rights: int = (1 << 1) | (1 << 2) | (1 << 5) | (1 << 14) | (1 << 21),
             fdflags: int = 0, lookup: int = 1) -> tuple[int, int]:
        p, n = self.put(path.encode())
        out = self.alloc(4)
        err = self.call("path_open", dirfd, lookup, p, n, oflags, rights, 0, fdflags, out)
        return err, self.u32(out) if err == 0 else -1

    def path_call(self, name: str, dirfd: int, path: str, *rest) -> int:
        p, n = self.put(path.encode())
        return self.call(name, dirfd, p, n, *rest)
