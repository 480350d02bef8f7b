"""Runs .wast scripts through the public embedding API (like `wasmtime wast`): every
assertion is counted as passed or failed, with a reason for each failure."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

import wasmcore
from wasmcore.errors import DecodeError, LinkError, Trap, TrapCode, ValidationError, WasmcoreError
from wasmcore.runtime import FuncInstance, GlobalInstance, MemoryInstance, TableInstance
from wasmcore.runtime.values import f32_to_bits, f64_to_bits
from wasmcore.syntax.types import FuncType, GlobalType, Limits, MemoryType, TableType, ValueType

_TYPES = {"i32": ValueType.I32, "i64": ValueType.I64, "f32": ValueType.F32, "f64": ValueType.F64,
          "v128": ValueType.V128, "funcref": ValueType.FUNCREF, "externref": ValueType.EXTERNREF}


@dataclass
class WastResult:
    path: str
    passed: int = 0
    failed: int = 0
    commands: int = 0
    failures: list[str] = field(default_factory=list)


class _Failure(Exception):
    pass


class _Skip(Exception):
    """A command that the reading-only mode does not run."""


def _spectest(store) -> dict[str, Any]:
    """The `spectest` host module every spec script imports."""
    from wasmcore.api.func import host_func_instance
    from wasmcore.plugin import HostFunction

    def func(*params: ValueType):
        return host_func_instance(store, HostFunction(FuncType(params, ()), lambda *a: None,
                                                      convention="bits"))

    table = TableInstance(TableType(ValueType.FUNCREF, Limits(10, 20)))
    return {
        "print": func(), "print_i32": func(ValueType.I32), "print_i64": func(ValueType.I64),
        "print_f32": func(ValueType.F32), "print_f64": func(ValueType.F64),
        "print_i32_f32": func(ValueType.I32, ValueType.F32),
        "print_f64_f64": func(ValueType.F64, ValueType.F64),
        "global_i32": GlobalInstance(GlobalType(ValueType.I32), 666),
        "global_i64": GlobalInstance(GlobalType(ValueType.I64), 666),
        "global_f32": GlobalInstance(GlobalType(ValueType.F32), f32_to_bits(666.6)),
        "global_f64": GlobalInstance(GlobalType(ValueType.F64), f64_to_bits(666.6)),
        "table": table,
        "memory": MemoryInstance(MemoryType(Limits(1, 2))),
    }


class WastRunner:
    def __init__(self, config: "wasmcore.Config | None" = None, path: str = "<wast>",
                 reading_only: bool = False):
        # reading_only: decode and validate every module and check assert_malformed /
        # assert_invalid, but run nothing (conformance of the reading phase on its own).
        self.reading_only = reading_only
        self.engine = wasmcore.Engine(config)
        self.store = wasmcore.Store(self.engine)
        self.registered: dict[str, dict[str, Any]] = {"spectest": _spectest(self.store)}
        self.named: dict[str, Any] = {}
        self.current: Any = None
        self.result = WastResult(path)

    # --- modules ----------------------------------------------------------------------------
    def _compile(self, script_module) -> "wasmcore.Module":
        if script_module.kind == "quote":
            return wasmcore.Module(self.engine, script_module.text)
        if script_module.kind == "binary":
            return wasmcore.Module(self.engine, script_module.binary)
        from wasmcore.binary import encode_module

        return wasmcore.Module(self.engine, encode_module(script_module.module))

    def _instantiate(self, module: "wasmcore.Module"):
        from wasmcore.exec.instantiate import instantiate

        externs = []
        for imp in module._module.imports:
            provided = self.registered.get(imp.module, {}).get(imp.name)
            if provided is None:
                raise LinkError(f"unknown import `{imp.module}::{imp.name}`")
            externs.append(provided)
        return instantiate(self.store, module, externs)

    def _module_command(self, script_module) -> None:
        instance = self._instantiate(self._compile(script_module))
        self.current = instance
        if script_module.name:
            self.named[script_module.name] = instance

    # --- actions ----------------------------------------------------------------------------
    def _instance_for(self, name: str | None):
        instance = self.current if name is None else self.named.get(name)
        if instance is None:
            raise _Failure(f"no module {name or '(current)'}")
        return instance

    def _action(self, action) -> list:
        instance = self._instance_for(action.module)
        export = instance.exports.get(action.field)
        if type(action).__name__ == "Get":
            if not isinstance(export, GlobalInstance):
                raise _Failure(f"no global export {action.field!r}")
            return [export.value]
        if not isinstance(export, FuncInstance):
            raise _Failure(f"no function export {action.field!r}")
        args = [_argument(value) for value in action.args]
        try:
            return list(export.invoke(*args))
        except RecursionError:
            raise Trap(TrapCode.STACK_OVERFLOW) from None

    # --- commands ---------------------------------------------------------------------------
    def run(self, commands) -> WastResult:
        for command in commands:
            kind = type(command).__name__
            self.result.commands += 1
            try:
                self._run_command(kind, command)
            except _Skip:
                continue
            except _Failure as failure:
                self._fail(command, str(failure))
            except (WasmcoreError, TypeError, ValueError, KeyError, IndexError,
                    AttributeError, OverflowError, struct.error, MemoryError) as error:
                self._fail(command, f"unexpected {type(error).__name__}: {error}")
            else:
                if kind not in ("ModuleCommand", "Register", "Unsupported"):
                    self.result.passed += 1
        return self.result

    def _fail(self, command, reason: str) -> None:
        self.result.failed += 1
        self.result.failures.append(f"line {command.line}: {type(command).__name__}: {reason}")

    def _expect_error(self, function, error_types, message: str, what: str,
                      strict: bool = False) -> None:
        try:
            function()
        except error_types as error:
            if message and message not in str(error):
                if strict:  # malformed/invalid: the spec's reason is part of the contract
                    raise _Failure(f"expected {what} {message!r}, got {str(error)!r}") from None
                # Trap and link wording differs between engines (wasmtime's does too): the
                # error class decides; the mismatch stays visible in verbose output.
                self.result.failures.append(f"note: expected {message!r}, got {str(error)!r}")
            return
        raise _Failure(f"expected {what} ({message!r}), but it succeeded")

    def _run_command(self, kind: str, command) -> None:
        if self.reading_only and kind not in ("AssertMalformed", "AssertInvalid"):
            module = getattr(command, "module", None) or getattr(command, "action_or_module", None)
            if type(module).__name__ == "ScriptModule" and not getattr(module, "definition", False):
                self._compile(module)
                self.result.passed += kind == "ModuleCommand"
                return
            raise _Skip
        if kind == "ModuleCommand":
            if getattr(command.module, "definition", False):
                return
            self._module_command(command.module)
        elif kind == "Register":
            instance = self._instance_for(command.name)
            self.registered[command.as_name] = dict(instance.exports)
        elif kind == "ActionCommand":
            self._action(command.action)
        elif kind == "AssertReturn":
            results = self._action(command.action)
            if len(results) != len(command.expected):
                raise _Failure(f"got {len(results)} results, expected {len(command.expected)}")
            for got, expected in zip(results, command.expected):
                if not _matches(got, expected):
                    raise _Failure(f"got {_show(got)}, expected {expected}")
        elif kind in ("AssertTrap", "AssertExhaustion"):
            operand = getattr(command, "action_or_module", None) or getattr(command, "action", None)
            if type(operand).__name__ == "ScriptModule":
                self._expect_error(lambda: self._module_command(operand), Trap, command.message, "a trap")
            else:
                self._expect_error(lambda: self._action(operand), Trap, command.message, "a trap")
        elif kind == "AssertMalformed":
            self._expect_error(lambda: self._compile(command.module), DecodeError,
                               command.message, "a decode error", strict=True)
        elif kind == "AssertInvalid":
            self._expect_error(lambda: self._compile(command.module), ValidationError,
                               command.message, "a validation error", strict=True)
        elif kind == "AssertUnlinkable":
            self._expect_error(lambda: self._instantiate(self._compile(command.module)),
                               LinkError, command.message, "a link error")
        elif kind == "AssertUninstantiable":
            self._expect_error(lambda: self._instantiate(self._compile(command.module)),
                               Trap, command.message, "a trap")
        elif kind == "Unsupported":
            return
        else:
            raise _Failure(f"unknown command {kind}")


def _argument(value) -> Any:
    if value.type == "externref" and value.value is not None:
        return _ExternRef(value.value)
    return value.value


class _ExternRef:
    """A host reference `ref.extern N`: equal to another with the same N."""

    __slots__ = ("n",)

    def __init__(self, n: int):
        self.n = n

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _ExternRef) and other.n == self.n

    def __hash__(self) -> int:
        return hash(self.n)


def _is_canonical_nan(bits: int, width: int) -> bool:
    return bits & ~(1 << (width - 1)) == (0x7FC00000 if width == 32 else 0x7FF8000000000000)


def _is_arithmetic_nan(bits: int, width: int) -> bool:
    quiet = 0x00400000 if width == 32 else 0x0008000000000000
    exponent = 0x7F800000 if width == 32 else 0x7FF0000000000000
    return bits & exponent == exponent and bits & quiet != 0


def _matches(got: Any, expected: Any) -> bool:
    kind = type(expected).__name__
    if kind == "Value":
        if expected.type in ("funcref", "externref"):
            if expected.value is None:
                return got is None
            return isinstance(got, _ExternRef) and got.n == expected.value
        return got == expected.value
    if kind == "NanPattern":
        width = 32 if expected.type == "f32" else 64
        if not isinstance(got, int):
            return False
        return (_is_canonical_nan if expected.kind == "canonical" else _is_arithmetic_nan)(got, width)
    if kind == "V128Pattern":
        lane_bits = int(expected.lane_type[1:])
        count = 128 // lane_bits
        for lane_index, lane in enumerate(expected.lanes[:count]):
            lane_value = (got >> (lane_index * lane_bits)) & ((1 << lane_bits) - 1)
            if isinstance(lane, int):
                if lane_value != lane:
                    return False
            elif not _matches(lane_value, lane):
                return False
        return True
    if kind == "RefPattern":
        if expected.kind == "null":
            return got is None
        if expected.kind == "func":
            return isinstance(got, FuncInstance)
        return got is not None and (expected.value is None or
                                    (isinstance(got, _ExternRef) and got.n == expected.value))
    if kind == "Either":
        return any(len(alt) == 1 and _matches(got, alt[0]) for alt in expected.alternatives)
    return False


def _show(value: Any) -> str:
    if isinstance(value, int):
        return hex(value)
    if isinstance(value, _ExternRef):
        return f"ref.extern {value.n}"
    return repr(value)


def run_wast_text(text: str, config=None, path: str = "<wast>",
                  reading_only: bool = False) -> WastResult:
    from wasmcore.text.script import parse_script

    runner = WastRunner(config, path, reading_only)
    try:
        commands = parse_script(text, path)
    except DecodeError as error:
        runner.result.failed += 1
        runner.result.failures.append(f"script does not parse: {error}")
        return runner.result
    return runner.run(commands)


def run_wast_file(path: str, config=None, reading_only: bool = False) -> WastResult:
    with open(path, encoding="utf-8") as file:
        return run_wast_text(file.read(), config, path, reading_only)


__all__ = ["WastRunner", "WastResult", "run_wast_file", "run_wast_text"]
