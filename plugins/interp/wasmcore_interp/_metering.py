"""Fuel and epoch interruption in the generated code (docs/resource-control.md); nothing is
emitted unless they are enabled.

Fuel is charged as Wasmtime charges it (the table is `wasmcore.exec.numerics.fuel_cost`: 1 per
operator, control flow free; 1 on function entry; bulk memory/table operations and successful
grows 1 per byte/element/page in addition): the charges of a basic block accumulate at compile
time (`fuel_pending`) and are subtracted from a local `_fu` once, where the block ends. `_fu` is
loaded from the store (`_VM.fuel`) on entry, written back before every call and return, and
reloaded after calls. Out of fuel (`_fu <= 0`) is checked where Wasmtime checks it: on function
entry, at loop headers and after bulk operations. The epoch (`_EPOCH.value`) is compared with
the deadline cached in `_dl` on function entry and at loop headers.

A function whose fuel is static (`static_cost`) is charged by its callers, which then call its
unmetered version (`call_leaf`).
"""

from __future__ import annotations

from wasmcore.exec.numerics import FUEL_ENTRY, FUEL_FREE, FUEL_PER_UNIT
from wasmcore.syntax import opcodes as op
from wasmcore_interp._stack import M32, It, val

# Instructions that make a function's fuel dynamic: control flow and calls (nop, drop and
# select are not control flow), the per-unit charges, and the other table/segment operations.
_DYNAMIC = frozenset((
    op.UNREACHABLE, op.BLOCK, op.LOOP, op.IF, op.ELSE, op.END, op.BR, op.BR_IF, op.BR_TABLE,
    op.RETURN, op.CALL, op.CALL_INDIRECT, op.RETURN_CALL, op.RETURN_CALL_INDIRECT,
    op.DATA_DROP, op.ELEM_DROP, op.TABLE_SIZE)) | FUEL_PER_UNIT


def static_cost(body) -> int | None:
    """The fuel a body always consumes, or None if that depends on the run."""
    if not body or body[-1][0] != op.END:
        return None
    cost = FUEL_ENTRY
    for ins in body[:-1]:
        code = ins[0]
        if code in _DYNAMIC:
            return None
        if code not in FUEL_FREE:
            cost += 1
    return cost


class Metering:
    """Fuel and epoch code of the function compiler (mixed into `FunctionCompiler`)."""

    def on_function_entry(self) -> None:
        if self.fuel:
            self.emit(f"_fu = _VM.fuel - {FUEL_ENTRY}")  # Wasmtime charges the entry, then checks
            self.emit("if _fu <= 0: _fu = _VM.out_of_fuel(_fu)")
        if self.epochs:
            self.emit("_dl = _VM.epoch_deadline")
            self.emit("if _EPOCH.value >= _dl: _dl = _VM.epoch_deadline_reached()")

    def on_loop_header(self) -> None:
        if self.fuel:
            self.emit("if _fu <= 0: _fu = _VM.out_of_fuel(_fu)")
        if self.epochs:
            self.emit("if _EPOCH.value >= _dl: _dl = _VM.epoch_deadline_reached()")

    def fuel_flush(self) -> None:
        """End of a basic block: subtract what its instructions charged."""
        if self.fuel_pending:
            self.emit(f"_fu -= {self.fuel_pending}")
            self.fuel_pending = 0

    def fuel_save(self) -> None:
        """Before control leaves the function (a call, a return, a trap): publish `_fu` with
        the pending charges. The local itself is not updated: a reload follows every call,
        and nothing runs after a return or a trap."""
        if not self.fuel:
            return
        pending, self.fuel_pending = self.fuel_pending, 0
        if self.lines and self.lines[-1] == "    " * self.ind + "_fu = _VM.fuel":
            # the statement just before (same block, straight-line) reloaded after a call:
            # the store is current, drop the reload
            self.lines.pop()
            if pending:
                self.emit(f"_VM.fuel -= {pending}")
            return
        self.emit(f"_VM.fuel = _fu - {pending}" if pending else "_VM.fuel = _fu")

    def fuel_reload(self) -> None:
        if self.fuel:
            self.emit("_fu = _VM.fuel")

    def fuel_variable(self, amount: It, condition: str | None = None) -> None:
        """After a bulk operation or a grow (`condition`: it succeeded): charge `amount` (an
        atom) more. Wasmtime then checks the fuel, except when the amount is a constant in its
        IR: its fuel is then charged like an instruction's (for a direct i32.const here; a
        local holding a constant is not tracked)."""
        if not self.fuel:
            return
        if condition is None and amount.const is not None:
            self.fuel_pending += amount.const
            return
        self.fuel_flush()
        if condition is None:
            self.emit(f"_fu -= {val(amount)}")
        else:
            self.emit(f"if {condition}: _fu -= {val(amount)}")
        if amount.const is None:
            self.emit("if _fu <= 0: _fu = _VM.out_of_fuel(_fu)")

    def fuel_grow(self, amount: It, result: int) -> None:
        """After memory.grow or table.grow into slot `result`: the granted units only."""
        self.fuel_variable(amount, f"s{result} != {M32:#x}")

    def call_leaf(self, j, args, ft, cost) -> None:
        """A call of a function of static cost: its entry check here (with more than 1 fuel
        left it passes), then its unmetered version; else the metered one, which refills from
        the reserve or traps on entry with the callee's frame in the backtrace."""
        self.fuel_flush()
        argv = ", ".join(val(a) for a in args)
        d = len(self.stack)
        n = len(ft.results)
        target = "" if n == 0 else (f"s{d} = " if n == 1 else
                                    ", ".join(f"s{d + k}" for k in range(n)) + ", = ")
        self.emit(f"if _fu <= {FUEL_ENTRY}:")
        self.emit("    _VM.fuel = _fu")
        self.emit(f"    {target}f{j}({argv})")
        self.emit(f"    _fu = _VM.fuel + {cost}")
        self.emit("else:")
        self.emit(f"    {target}u{j}({argv})")
        for k, vt in enumerate(ft.results):
            self.stack.append(self.slot(d + k, vt))
        self.fuel_pending += cost
