"""The operand stack of the function compiler, resolved at compile time, and code emission.

A stack entry is a Python expression (`It`) that stays unevaluated ("deferred") until something
consumes it, so `local.get 0; i32.const 1; i32.add; local.set 0` becomes
`l0 = (l0 + 1) & 0xFFFFFFFF`. Entries are written to stack-slot variables `s<depth>` when they
must be (control-flow merges, a conflicting local.set, ordering of side effects), so at every
label the stack is canonical: entry d lives in `s<d>`. Locals are the variables `l<index>`.

Ordering rules that keep the folding sound:
- an entry is `impure` when it reads mutable state (memory, globals, tables) or may trap; before
  any statement is emitted, impure entries below the statement's operands are materialized, in
  stack order, so traps and effects happen in wasm order;
- before a local is assigned, entries reading it are materialized;
- at block/loop/if entry every non-constant entry is materialized.

`val`, `raw` and `tst` turn an entry into code; the SIMD translation (`_simd`) uses them too.
"""

from __future__ import annotations

from wasmcore.syntax.types import ValueType

I32, I64, F32, F64 = int(ValueType.I32), int(ValueType.I64), int(ValueType.F32), int(ValueType.F64)
V128, FUNCREF, EXTERNREF = int(ValueType.V128), int(ValueType.FUNCREF), int(ValueType.EXTERNREF)
M32 = 0xFFFFFFFF
M64 = 0xFFFFFFFFFFFFFFFF
EMPTY: frozenset = frozenset()
MAX_NEST = 24  # expression nesting before an entry is materialized


class It:
    """A stack entry: a Python expression and what it depends on."""

    __slots__ = ("code", "vt", "const", "atom", "cond", "lazy", "impure", "fx", "reads", "nest")

    def __init__(self, code, vt, const=None, atom=False, cond=False, lazy=False, impure=False,
                 fx=False, reads=EMPTY, nest=0):
        self.code = code  # Python source; compound expressions are parenthesized
        self.vt = vt
        self.const = const  # the value of a constant, else None
        self.atom = atom  # a name or literal: may be repeated in the output
        self.cond = cond  # a boolean expression standing for an i32 0/1
        self.lazy = lazy  # an integer only congruent to the value (needs masking)
        self.impure = impure  # reads mutable state or may trap
        self.fx = fx  # has side effects or may trap other than out of bounds
        self.reads = reads  # local and slot variables read
        self.nest = nest

    def __repr__(self):
        return f"It({self.code!r})"


def mask_of(vt) -> int:
    return M64 if vt == I64 else M32


def raw(it: It) -> str:
    """Code usable as an operand of + - * & | ^ << (laziness allowed)."""
    if it.cond:
        return f"(1 if {it.code} else 0)"
    return it.code


def val(it: It) -> str:
    """Code of the exact value."""
    if it.cond:
        return f"(1 if {it.code} else 0)"
    if it.lazy:
        return f"({it.code} & {mask_of(it.vt):#x})"
    return it.code


def tst(it: It) -> str:
    """Code for a truth test of an i32."""
    if it.cond:
        return it.code
    if it.lazy:
        return f"({it.code} & {M32:#x})"
    return it.code


class StackModel:
    """The function compiler's stack and output lines (mixed into `FunctionCompiler`)."""

    def emit(self, line: str) -> None:
        self.lines.append("    " * self.ind + line)

    def push(self, it: It) -> None:
        self.stack.append(it)
        if it.nest > MAX_NEST:
            self.materialize(len(self.stack) - 1)

    def pop(self) -> It:
        return self.stack.pop()

    def new(self, code, vt, *parts, cond=False, lazy=False, impure=False, fx=False):
        reads = EMPTY
        nest = 0
        for p in parts:
            if p.reads:
                reads = reads | p.reads
            impure = impure or p.impure
            fx = fx or p.fx
            if p.nest >= nest:
                nest = p.nest + 1
        return It(code, vt, cond=cond, lazy=lazy, impure=impure, fx=fx, reads=reads, nest=nest)

    def const(self, code, vt, value):
        return It(code, vt, const=value, atom=True)

    def slot(self, d: int, vt) -> It:
        name = f"s{d}"
        if d > self.max_slot:
            self.max_slot = d
        return It(name, vt, atom=True, reads=frozenset((name,)))

    def materialize(self, idx: int, force: bool = False) -> None:
        it = self.stack[idx]
        if it.const is not None and not force:
            return
        name = f"s{idx}"
        if it.code == name:
            return
        if it.impure:
            for j in range(idx):
                if self.stack[j].impure:
                    self.materialize(j)
        for j in range(idx):
            if name in self.stack[j].reads:
                self.materialize(j)
        self.emit(f"{name} = {val(it)}")
        self.stack[idx] = self.slot(idx, it.vt)

    def flush_impure(self, keep_top: int = 0) -> None:
        for j in range(len(self.stack) - keep_top):
            if self.stack[j].impure:
                self.materialize(j)

    def flush_all(self) -> None:
        for j in range(len(self.stack)):
            self.materialize(j)

    def kill_reads(self, name: str) -> None:
        for j in range(len(self.stack)):
            if name in self.stack[j].reads:
                self.materialize(j)

    def atomize_top(self) -> None:
        idx = len(self.stack) - 1
        if not self.stack[idx].atom:
            self.materialize(idx)

    def atomize_operands(self, n: int) -> None:
        """Make the top n entries atoms (in stack order), so their values can be named twice."""
        top = len(self.stack)
        for k in range(top - n, top):
            if not self.stack[k].atom:
                self.materialize(k)
