"""The project's exception types. Plugins raise only these (or let a host function's own
exception pass through unchanged, as wasmtime-py does).

The taxonomy follows the spec interpreter's script assertions: malformed (`DecodeError`),
invalid (`ValidationError`), unlinkable (`LinkError`), trap (`Trap`), exhaustion (a `Trap` with
`TrapCode.STACK_OVERFLOW`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class WasmcoreError(Exception):
    """Base of every error wasmcore raises. Also importable as `WasmtimeError`."""

    @property
    def message(self) -> str:
        return str(self)


class DecodeError(WasmcoreError):
    """A malformed module: the bytes (or text) do not follow the format.

    `offset` is the byte offset in the binary (or character offset in text) where decoding
    failed; the message starts with the spec testsuite's wording ("unexpected end", ...).
    """

    def __init__(self, message: str, offset: int | None = None):
        self.reason = message
        self.offset = offset
        super().__init__(message if offset is None else f"{message} (at offset {offset:#x})")


class ValidationError(WasmcoreError):
    """An invalid module: well-formed but rejected by validation ("type mismatch", ...)."""

    def __init__(self, message: str, func_index: int | None = None, offset: int | None = None):
        self.reason = message
        self.func_index = func_index
        self.offset = offset
        where = []
        if func_index is not None:
            where.append(f"func {func_index}")
        if offset is not None:
            where.append(f"offset {offset:#x}")
        super().__init__(f"{message} ({', '.join(where)})" if where else message)


class LinkError(WasmcoreError):
    """Instantiation could not resolve or match an import ("unknown import",
    "incompatible import type")."""


class ConfigError(WasmcoreError):
    """A bad configuration key or value; the message names it."""


class PluginError(WasmcoreError):
    """A plugin is missing, failed to load, or misbehaved."""


class TrapCode(enum.Enum):
    """Why a trap happened; names and meaning as in wasmtime-py."""

    STACK_OVERFLOW = 0
    MEMORY_OUT_OF_BOUNDS = 1
    HEAP_MISALIGNED = 2
    TABLE_OUT_OF_BOUNDS = 3
    INDIRECT_CALL_TO_NULL = 4
    BAD_SIGNATURE = 5
    INTEGER_OVERFLOW = 6
    INTEGER_DIVISION_BY_ZERO = 7
    BAD_CONVERSION_TO_INTEGER = 8
    UNREACHABLE = 9
    INTERRUPT = 10
    OUT_OF_FUEL = 11
    ATOMIC_WAIT_NON_SHARED_MEMORY = 12
    NULL_REFERENCE = 13
    ARRAY_OUT_OF_BOUNDS = 14
    ALLOCATION_TOO_LARGE = 15
    CAST_FAILURE = 16
    UNCAUGHT_EXCEPTION = 17


# The spec testsuite's wording for each code (assert_trap / assert_exhaustion texts).
TRAP_MESSAGES: dict[TrapCode, str] = {
    TrapCode.STACK_OVERFLOW: "call stack exhausted",
    TrapCode.MEMORY_OUT_OF_BOUNDS: "out of bounds memory access",
    TrapCode.HEAP_MISALIGNED: "misaligned memory access",
    TrapCode.TABLE_OUT_OF_BOUNDS: "undefined element",
    TrapCode.INDIRECT_CALL_TO_NULL: "uninitialized element",
    TrapCode.BAD_SIGNATURE: "indirect call type mismatch",
    TrapCode.INTEGER_OVERFLOW: "integer overflow",
    TrapCode.INTEGER_DIVISION_BY_ZERO: "integer divide by zero",
    TrapCode.BAD_CONVERSION_TO_INTEGER: "invalid conversion to integer",
    TrapCode.UNREACHABLE: "unreachable",
    TrapCode.INTERRUPT: "interrupt",
    TrapCode.OUT_OF_FUEL: "all fuel consumed by WebAssembly",
    TrapCode.ATOMIC_WAIT_NON_SHARED_MEMORY: "atomic wait on non-shared memory",
    TrapCode.NULL_REFERENCE: "null reference",
    TrapCode.ARRAY_OUT_OF_BOUNDS: "out of bounds array access",
    TrapCode.ALLOCATION_TOO_LARGE: "allocation size too large",
    TrapCode.CAST_FAILURE: "cast failure",
    TrapCode.UNCAUGHT_EXCEPTION: "uncaught exception",
}


@dataclass(frozen=True)
class Frame:
    """One wasm frame of a trap's backtrace (wasmtime-py's `Frame`)."""

    func_index: int
    func_name: str | None = None
    module_name: str | None = None
    func_offset: int | None = None
    module_offset: int | None = None

    def __str__(self) -> str:
        name = self.func_name or f"<wasm function {self.func_index}>"
        module = f"{self.module_name}!" if self.module_name else ""
        return f"{module}{name}"


class Trap(WasmcoreError):
    """A WebAssembly trap. `trap_code` is a `TrapCode` (None for a trap raised by the host
    with only a message); `frames` is the wasm backtrace, innermost first."""

    def __init__(self, trap_code: TrapCode | str | None = None, message: str | None = None,
                 frames: list[Frame] | None = None):
        if isinstance(trap_code, str):  # Trap("message"), as wasmtime-py spells it
            trap_code, message = None, trap_code
        self.trap_code = trap_code
        self.frames: list[Frame] = list(frames or [])
        if message is None:
            message = TRAP_MESSAGES[trap_code] if trap_code is not None else "trap"
        self._message = message
        super().__init__(message)

    @property
    def message(self) -> str:
        return self._message

    @property
    def trace(self) -> list[Frame]:
        return self.frames

    def __str__(self) -> str:
        if not self.frames:
            return self._message
        lines = [self._message, "wasm backtrace:"]
        lines += [f"  {i:>3}: {frame}" for i, frame in enumerate(self.frames)]
        return "\n".join(lines)


class ExitTrap(WasmcoreError):
    """The guest called WASI `proc_exit`; `code` is its exit status."""

    def __init__(self, code: int):
        self.code = code
        super().__init__(f"Exited with i32 exit status {code}")


WasmtimeError = WasmcoreError
