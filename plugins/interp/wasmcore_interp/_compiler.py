"""Translate one wasm function into Python source, once per module: the driver.

The function compiler is one class made of the parts that live beside this module:
- `_stack`: the compile-time operand stack (deferred expressions, materialization into
  stack-slot variables `s<d>`, locals `l<i>`) and code emission;
- `_control`: block/loop/if/br/br_if/br_table/return/calls, structured or "flat" mode;
- `_metering`: fuel and epoch checks (no code unless enabled);
- `_operators`: parametric, variable, memory, table, reference and scalar numeric operators;
- `_simd`: the v128 instructions.
Each part has a table opcode -> translation (keyed by `wasmcore.syntax.opcodes` names); `run`
walks the body once and calls the translation of each reachable instruction.
"""

from __future__ import annotations

import math
import struct

from wasmcore.exec.numerics import fuel_cost
from wasmcore.syntax import opcodes as op
from wasmcore.syntax.types import BLOCKTYPE_EMPTY, ExternKind
from wasmcore_interp import _control, _operators, _simd
from wasmcore_interp._control import MAX_INDENT, MAX_PY_LOOPS, ControlFlow, Frame, ifs_with_else, prescan
from wasmcore_interp._metering import Metering, static_cost
from wasmcore_interp._operators import Operators
from wasmcore_interp._stack import EXTERNREF, F64, FUNCREF, It, StackModel

NEGATIVE_ZERO_BITS = 0x8000000000000000


class CompileContext:
    """What a function compiler needs from the module (shared by all its functions)."""

    def __init__(self, module, consume_fuel=False, epoch_interruption=False):
        self.module = module
        self.types = module.types
        self.func_types = []
        self.global_types = []
        self.n_imported_funcs = 0
        for imp in module.imports:
            if imp.kind == ExternKind.FUNC:
                self.func_types.append(module.types[imp.desc])
                self.n_imported_funcs += 1
            elif imp.kind == ExternKind.GLOBAL:
                self.global_types.append(imp.desc.value_type)
        for func in module.functions:
            self.func_types.append(module.types[func.type_index])
        for glob in module.globals:
            self.global_types.append(glob.type.value_type)
        self.consume_fuel = consume_fuel
        self.epoch_interruption = epoch_interruption
        self.constants: dict[str, object] = {}  # named constants (NaN/inf floats) for the namespace
        self._const_names: dict[int, str] = {}
        self._leaf_costs: dict[int, int | None] = {}

    def leaf_cost(self, func_index: int) -> int | None:
        """The fuel a defined function always consumes, if that is static: straight-line code
        (no control flow, calls, grows or bulk operations). Callers charge it themselves and
        call the function's unmetered version (`u<index>`), as fast as with fuel off."""
        if func_index < self.n_imported_funcs:
            return None
        cost = self._leaf_costs.get(func_index, False)
        if cost is False:
            cost = static_cost(self.module.functions[func_index - self.n_imported_funcs].body)
            self._leaf_costs[func_index] = cost
        return cost

    def float_const(self, bits: int) -> str:
        value = struct.unpack("<d", struct.pack("<Q", bits))[0]
        if math.isfinite(value) and value.hex() and (value != 0.0 or bits == 0):
            text = repr(value)
            if float(text) == value:
                return text
        if bits == NEGATIVE_ZERO_BITS:
            return "-0.0"
        name = self._const_names.get(bits)
        if name is None:
            name = self._const_names[bits] = f"_c{len(self._const_names)}"
            self.constants[name] = value
        return name

    def blocktype(self, bt):
        if bt == BLOCKTYPE_EMPTY:
            return (), ()
        if bt < 0:
            return (), (bt & 0x7F,)  # a value type, as the s33 of its byte
        ft = self.types[bt]
        return tuple(ft.params), tuple(ft.results)


HANDLERS: dict = {**_control.HANDLERS, **_operators.HANDLERS, **_simd.TRANSLATE}
SIMD_OPCODES = op.SIMD_PREFIX << 16


class FunctionCompiler(StackModel, Metering, ControlFlow, Operators):
    def __init__(self, ctx: CompileContext, func_index: int):
        self.ctx = ctx
        self.index = func_index
        func = ctx.module.functions[func_index - ctx.n_imported_funcs]
        self.ft = ctx.func_types[func_index]
        self.body = func.body
        self.local_types = list(self.ft.params) + list(func.locals)
        self.stack: list[It] = []
        self.ctrl: list[Frame] = []
        self.lines: list[str] = []
        self.ind = 1
        self.dead = 0  # >0: skipping unreachable code; nesting depth of skipped blocks + 1
        self.labels = 0
        self.max_slot = -1
        self.fuel = ctx.consume_fuel
        self.epochs = ctx.epoch_interruption
        self.fuel_pending = 0  # fuel charged by instructions since `_fu` was last updated

    def compile(self) -> str:
        name = f"f{self.index}"
        params = [f"l{i}" for i in range(len(self.ft.params))]
        header = f"def {name}({', '.join(params)}):"
        targeted, self.tail_ok, all_targets, max_loops, max_indent = prescan(self.body)
        self.if_with_else = ifs_with_else(self.body) if self.fuel else frozenset()
        self.flat = max_loops > MAX_PY_LOOPS or max_indent > MAX_INDENT
        self.targeted = all_targets if self.flat else targeted
        self.ctrl.append(Frame("func", 0, (), tuple(self.ft.results), 0, False))
        if self.flat:
            self.states = []  # list of (label-or-None) boundaries inserted into self.lines
            self.ind = 3
        self.on_function_entry()
        self.run()
        body = self.lines
        out = [header]
        # local initialization
        by_init: dict[str, list[str]] = {}
        for i in range(len(self.ft.params), len(self.local_types)):
            vt = self.local_types[i]
            init = "0.0" if vt == F64 else ("None" if vt in (FUNCREF, EXTERNREF) else "0")
            by_init.setdefault(init, []).append(f"l{i}")
        for init, names in by_init.items():
            for k in range(0, len(names), 200):
                out.append("    " + " = ".join(names[k:k + 200]) + f" = {init}")
        if self.flat:
            out.append("    _pc = 0")
            out.append("    while True:")
            out.extend(self.resolve_flat(body))
        else:
            if self.uses_br:
                out.append("    _br = 0")
            out.extend(body)
        if len(out) == 1:
            out.append("    pass")
        return "\n".join(out) + "\n"

    def run(self) -> None:
        handlers = HANDLERS
        charge = self.fuel
        for index, ins in enumerate(self.body):
            code = ins[0]
            if self.dead:  # skip to the end (or else) that makes code reachable again
                if code in _control.BLOCK_STARTS:
                    self.dead += 1
                    continue
                if code == op.END:
                    if self.dead > 1:
                        self.dead -= 1
                        continue
                    self.op_end(ins)  # resets self.dead
                    continue
                if code == op.ELSE and self.dead == 1:
                    self.op_else(ins)  # resets self.dead
                continue
            handler = handlers.get(code)
            if handler is None:
                if code < SIMD_OPCODES:
                    raise NotImplementedError(f"interp: opcode {op.NAMES.get(code, hex(code))}")
                handler = _simd.translate  # reports the unsupported opcode
            self.ins_index = index  # block/loop/if: prescan results are keyed by it
            if charge:
                self.fuel_pending += fuel_cost(code)
            handler(self, ins)


def compile_function(ctx: CompileContext, func_index: int) -> str:
    return FunctionCompiler(ctx, func_index).compile()
