"""`WasiContext`: one store's WASI state that does not depend on the ABI, built from the store's
`WasiConfig` the first time the store calls WASI and kept in `store.stash[WASI_CONTEXT]`.

It owns the descriptor table: stdin, stdout and stderr at 0, 1 and 2, then the preopened
directories in the order they were configured. An ABI subclasses it to make its own
`Descriptor` subclass for each (`stdio_descriptor`, `preopen_descriptor`) and to add state.
"""

from __future__ import annotations

import os
from typing import Callable, TypeVar

from wasmcore.errors import WasmcoreError
from wasmcore.plugin import StashKey
from wasmcore.wasi.descriptors import (DIRECTORY, STDIO, Descriptor, DescriptorTable, Stdio,
                                       open_stderr, open_stdin, open_stdout)

C = TypeVar("C", bound="WasiContext")


class WasiContext:
    def __init__(self, config) -> None:
        self.config = config  # a WasiConfig, or None: no arguments, empty stdin, no preopens
        self.descriptors = DescriptorTable(first_free=3)
        try:
            for number, open_stream in ((0, open_stdin), (1, open_stdout), (2, open_stderr)):
                self.descriptors.place(number, self.stdio_descriptor(number, open_stream(config)))
            preopens = config.preopens if config is not None else []
            for host_path, guest_path, dir_perms, file_perms in preopens:
                host_fd = os.open(host_path, os.O_RDONLY | os.O_DIRECTORY)
                self.descriptors.insert(self.preopen_descriptor(
                    host_fd, guest_path, int(dir_perms), int(file_perms)))
        except BaseException:
            # A missing preopen or stdio file: give back what was opened before it, now.
            self.close_all()
            raise

    def stdio_descriptor(self, number: int, stream: Stdio) -> Descriptor:
        """The descriptor of stdin (number 0, read-only), stdout (1) or stderr (2)."""
        return Descriptor(STDIO, stream=stream, readable=number == 0, writable=number != 0)

    def preopen_descriptor(self, host_fd: int, guest_path: str, dir_perms: int,
                           file_perms: int) -> Descriptor:
        return Descriptor(DIRECTORY, host_fd, preopen=guest_path, dir_perms=dir_perms,
                          file_perms=file_perms)

    def close_all(self) -> None:
        self.descriptors.close_all()

    def __del__(self) -> None:
        try:
            self.close_all()
        except Exception:
            pass


WASI_CONTEXT: StashKey[WasiContext] = StashKey("wasi")


def context_of_store(store, factory: Callable[..., C] = WasiContext) -> C:
    """The store's WasiContext, made by `factory(store.wasi_config)` on first use. A store has
    one: asking for another ABI's subclass than the one it holds is an error."""
    context = store.stash.get(WASI_CONTEXT)
    if context is None:
        context = factory(getattr(store, "wasi_config", None))
        store.stash[WASI_CONTEXT] = context
    elif not isinstance(context, factory):
        raise WasmcoreError(f"this store's WASI context is a {type(context).__name__}, "
                            f"not a {factory.__name__}: one store serves one WASI ABI")
    return context


__all__ = ["WasiContext", "WASI_CONTEXT", "context_of_store"]
