"""Translate one wasm function into Python source, once per module.

The operand stack is resolved at compile time: a stack entry is a Python expression (`It`)
that stays unevaluated ("deferred") until something consumes it, so `local.get 0; i32.const 1;
i32.add; local.set 0` becomes `l0 = (l0 + 1) & 0xFFFFFFFF`. Entries are written to stack-slot
variables `s<depth>` when they must be (control-flow merges, a conflicting local.set, ordering of
side effects), so at every label the stack is canonical: entry d lives in `s<d>`.

Ordering rules that keep the folding sound:
- an entry is `impure` when it reads mutable state (memory, globals, tables) or may trap; before
  any statement is emitted, impure entries below the statement's operands are materialized, in
  stack order, so traps and effects happen in wasm order;
- before a local is assigned, entries reading it are materialized;
- at block/loop/if entry every non-constant entry is materialized.

Structured control flow ("structured" mode): a `block`/`if` that is branched to becomes
`while True: ... break`, a `loop` that is branched to becomes `while True: ... continue`;
branches crossing several Python loops set `_br` to the target's label number and break, and the
code after each inner loop forwards them. CPython allows only 20 nested loops (and 100
indentation levels), so functions nested deeper are compiled in "flat" mode instead: a state
machine `while True: if _pc <= k: ...` over the function's labels.

Fuel and epoch interruption (docs/resource-control.md) emit nothing unless enabled. Fuel is
charged as Wasmtime charges it (1 per operator; nop, drop, block, loop, else, end, return,
unreachable free; 1 on function entry; bulk memory/table operations and successful grows 1 per
byte/element/page in addition): the charges of a basic block accumulate at compile time
(`fuel_pending`) and are subtracted from a local `_fu` once, where the block ends. `_fu` is
loaded from the store (`_VM.fuel`) on entry, written back before every call and return, and
reloaded after calls. Out of fuel (`_fu <= 0`) is checked where Wasmtime checks it: on function
entry, at loop headers and after bulk operations. The epoch (`_EPOCH.value`) is compared with
the deadline cached in `_dl` on function entry and at loop headers.
"""

from __future__ import annotations

import math
import re
import struct

from wasmcore.syntax import opcodes as op

I32, I64, F32, F64, V128, FUNCREF, EXTERNREF = 0x7F, 0x7E, 0x7D, 0x7C, 0x7B, 0x70, 0x6F
M32 = 0xFFFFFFFF
M64 = 0xFFFFFFFFFFFFFFFF
EMPTY: frozenset = frozenset()
MAX_NEST = 24  # expression nesting before an entry is materialized
MAX_PY_LOOPS = 18
MAX_INDENT = 80
SIMD_PREFIX = 0xFD << 16


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


def _mask(vt):
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
        return f"({it.code} & {_mask(it.vt):#x})"
    return it.code


def tst(it: It) -> str:
    """Code for a truth test of an i32."""
    if it.cond:
        return it.code
    if it.lazy:
        return f"({it.code} & {M32:#x})"
    return it.code


class Frame:
    __slots__ = ("kind", "height", "params", "results", "label", "py_loop", "pending",
                 "reachable_end", "branched", "else_seen", "entry_reachable", "flat_start",
                 "flat_end", "flat_else", "body_start", "has_else_code", "fuel_entry")

    def __init__(self, kind, height, params, results, label, py_loop):
        self.kind = kind
        self.height = height  # stack height below the params
        self.params = params
        self.results = results
        self.label = label
        self.py_loop = py_loop
        self.pending = set()  # structured: labels branched to through this Python loop
        self.branched = False  # some branch targets this label (block/if end)
        self.else_seen = False
        self.reachable_end = False  # the then-arm of an if fell through
        self.flat_start = self.flat_end = self.flat_else = None
        self.body_start = 0
        self.fuel_entry = None  # an if with else: fuel pending on entry, charged in each arm

    @property
    def label_types(self):
        return self.params if self.kind == "loop" else self.results


class CompileContext:
    """What a function compiler needs from the module (shared by all its functions)."""

    def __init__(self, module, consume_fuel=False, epoch_interruption=False):
        self.module = module
        self.types = module.types
        from wasmcore.syntax.types import ExternKind
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
            cost = _static_cost(self.module.functions[func_index - self.n_imported_funcs].body)
            self._leaf_costs[func_index] = cost
        return cost

    def float_const(self, bits: int) -> str:
        value = struct.unpack("<d", struct.pack("<Q", bits))[0]
        if math.isfinite(value) and value.hex() and (value != 0.0 or bits == 0):
            text = repr(value)
            if float(text) == value:
                return text
        if bits == 0x8000000000000000:
            return "-0.0"
        name = self._const_names.get(bits)
        if name is None:
            name = self._const_names[bits] = f"_c{len(self._const_names)}"
            self.constants[name] = value
        return name

    def blocktype(self, bt):
        if bt == -64:
            return (), ()
        if bt < 0:
            return (), (bt & 0x7F,)
        ft = self.types[bt]
        return tuple(ft.params), tuple(ft.results)


def _prescan(body):
    """Control-flow facts for one body, keyed by instruction index.

    Returns (needs_loop, tail_ok, max_loops, max_indent): the block/loop/if starts that need a
    Python `while True:`; the (instruction, depth) branches that are a plain `break` out of the
    innermost Python loop because nothing but `end`s runs between that loop's end and the
    target's end (and no values are carried); the deepest Python loop nesting and indentation.
    """
    end_of = {}
    else_of = {}
    kind_of = {}
    bt_of = {}
    ctrl = []
    for i, ins in enumerate(body):
        code = ins[0]
        if code in (0x02, 0x03, 0x04):
            ctrl.append(i)
            kind_of[i] = code
            bt_of[i] = ins[1]
        elif code == 0x05:
            if ctrl:
                else_of[ctrl[-1]] = i
        elif code == 0x0B:
            if ctrl:
                end_of[ctrl.pop()] = i
    branches = []
    ctrl = []
    for i, ins in enumerate(body):
        code = ins[0]
        if code in (0x02, 0x03, 0x04):
            ctrl.append(i)
        elif code == 0x0B:
            if ctrl:
                ctrl.pop()
        elif code in (0x0C, 0x0D, 0x0E):
            depths = (ins[1],) if code != 0x0E else (*ins[1], ins[2])
            for depth in set(depths):
                if depth >= len(ctrl):
                    continue  # the function's label: a return
                target = ctrl[-1 - depth]
                crossed = ctrl[len(ctrl) - depth:][::-1]
                tail = kind_of[target] != 0x03 and bt_of[target] == -64 and bool(crossed)
                if tail:
                    chain = crossed + [target]
                    for f, parent in zip(chain, chain[1:]):
                        if bt_of[f] != -64:
                            tail = False
                            break
                        nxt = end_of.get(f, -2) + 1
                        if nxt != end_of.get(parent) and nxt != else_of.get(parent):
                            tail = False
                            break
                branches.append((i, depth, target, crossed, tail))
    needs_loop = set()
    for i, depth, target, crossed, tail in branches:
        if not tail:
            needs_loop.add(target)
    changed = True
    while changed:
        changed = False
        for i, depth, target, crossed, tail in branches:
            if tail and target not in needs_loop and not any(c in needs_loop for c in crossed):
                needs_loop.add(target)
                changed = True
    tail_ok = {(i, depth) for i, depth, target, crossed, tail in branches
               if tail and any(c in needs_loop for c in crossed)}
    # nesting
    loops = indent = max_loops = max_indent = 0
    stack = []
    for i, ins in enumerate(body):
        code = ins[0]
        if code in (0x02, 0x03, 0x04):
            dl = 1 if i in needs_loop else 0
            di = dl + (1 if code == 0x04 else 0)
            stack.append((dl, di))
            loops += dl
            indent += di
            max_loops = max(max_loops, loops)
            max_indent = max(max_indent, indent)
        elif code == 0x0B and stack:
            dl, di = stack.pop()
            loops -= dl
            indent -= di
        elif code == 0x0E:
            n = len(ins[1]) + 1
            max_indent = max(max_indent, indent + n.bit_length() + 2)
    all_targets = {target for _, _, target, _, _ in branches}
    return needs_loop, tail_ok, all_targets, max_loops, max_indent


_PARAMETRIC = frozenset((0x01, 0x1A, 0x1B, 0x1C))  # nop, drop, select: not control flow
_DYNAMIC_COST = frozenset([0x40] + [op.misc(k) for k in range(0x08, 0x12)])  # grow, bulk ops


def _static_cost(body) -> int | None:
    if not body or body[-1][0] != 0x0B:
        return None
    cost = 1  # the entry
    for ins in body[:-1]:
        code = ins[0]
        if (code < 0x20 and code not in _PARAMETRIC) or code in _DYNAMIC_COST or \
                code >> 16 == 0xFB:  # control flow, calls, exceptions; variable costs; GC
            return None
        if code not in FREE_OPS:
            cost += 1
    return cost


def _ifs_with_else(body) -> frozenset:
    """Indices of the `if` instructions that have an `else`."""
    found, ctrl = set(), []
    for i, ins in enumerate(body):
        code = ins[0]
        if code in (0x02, 0x03, 0x04):
            ctrl.append(i)
        elif code == 0x05 and ctrl:
            found.add(ctrl[-1])
        elif code == 0x0B and ctrl:
            ctrl.pop()
    return frozenset(found)


class FunctionCompiler:
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

    # --- emission ------------------------------------------------------------------------------
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

    # --- fuel / epoch hooks (no code unless enabled) ---------------------------------------------
    def _on_function_entry(self) -> None:
        if self.fuel:
            self.emit("_fu = _VM.fuel - 1")  # Wasmtime charges 1 on entry, then checks
            self.emit("if _fu <= 0: _fu = _VM.out_of_fuel(_fu)")
        if self.epochs:
            self.emit("_dl = _VM.epoch_deadline")
            self.emit("if _EPOCH.value >= _dl: _dl = _VM.epoch_deadline_reached()")

    def _on_loop_header(self) -> None:
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

    def atomize_operands(self, n: int) -> None:
        """Make the top n entries atoms (in stack order), so their values can be named twice."""
        top = len(self.stack)
        for k in range(top - n, top):
            if not self.stack[k].atom:
                self.materialize(k)

    # --- driver ------------------------------------------------------------------------------------
    def compile(self) -> str:
        name = f"f{self.index}"
        params = [f"l{i}" for i in range(len(self.ft.params))]
        header = f"def {name}({', '.join(params)}):"
        targeted, self.tail_ok, all_targets, max_loops, max_indent = _prescan(self.body)
        self.if_with_else = _ifs_with_else(self.body) if self.fuel else frozenset()
        self.flat = max_loops > MAX_PY_LOOPS or max_indent > MAX_INDENT
        self.targeted = all_targets if self.flat else targeted
        self.ctrl.append(Frame("func", 0, (), tuple(self.ft.results), 0, False))
        if self.flat:
            self.states = []  # list of (label-or-None) boundaries inserted into self.lines
            self.ind = 3
        self._on_function_entry()
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
            out.extend(self._resolve_flat(body))
        else:
            if self.uses_br:
                out.append("    _br = 0")
            out.extend(body)
        if len(out) == 1:
            out.append("    pass")
        return "\n".join(out) + "\n"

    uses_br = False

    def set_dead(self) -> None:
        self.dead = 1

    # --- branch plumbing -----------------------------------------------------------------------
    def move_to(self, base: int, n: int) -> None:
        """Move the top n stack entries to slots s<base>...; they stay on the stack."""
        if not n:
            return
        top = len(self.stack) - n
        if top == base:
            for k in range(n):
                it = self.stack[base + k]
                if it.const is not None:  # constants stay on the stack: assign, keep the entry
                    self.emit(f"s{base + k} = {it.code}")
                    if base + k > self.max_slot:
                        self.max_slot = base + k
                else:
                    self.materialize(base + k)
            return
        # Evaluate in order into their own slots if impure, then copy in one assignment.
        self.flush_impure()
        srcs = [val(self.stack[top + k]) for k in range(n)]
        dsts = [f"s{base + k}" for k in range(n)]
        for k in range(n):
            if base + k > self.max_slot:
                self.max_slot = base + k
        pairs = [(d, s) for d, s in zip(dsts, srcs) if d != s]
        if not pairs:
            return
        if len(pairs) == 1:
            self.emit(f"{pairs[0][0]} = {pairs[0][1]}")
        else:
            self.emit(", ".join(d for d, _ in pairs) + " = " + ", ".join(s for _, s in pairs))

    def branch(self, depth: int) -> None:
        """Emit an unconditional branch to the label `depth` (values on top of the stack)."""
        target = self.ctrl[-1 - depth]
        if target.kind == "func":
            self.emit_return()
            return
        arity = len(target.label_types)
        self.move_to(target.height, arity)
        if target.kind != "loop":
            target.branched = True
        if self.flat:
            dest = target.flat_start if target.kind == "loop" else target.flat_end
            self.emit(f"_pc = @{dest}@")
            self.emit("continue")
            return
        # innermost Python loop between here and the target
        crossed = []
        for frame in reversed(self.ctrl[len(self.ctrl) - 1 - depth + 1:]):
            if frame.py_loop:
                crossed.append(frame)
        if not crossed:
            self.emit("continue" if target.kind == "loop" else "break")
            return
        if (self._ins_index, depth) in self.tail_ok:
            # nothing but `end`s between the innermost Python loop's end and the target's end
            for frame in self.ctrl[len(self.ctrl) - depth:]:
                frame.branched = True
            self.emit("break")
            return
        self.uses_br = True
        for frame in crossed:
            frame.pending.add(target.label)
        self.emit(f"_br = {target.label}")
        self.emit("break")

    def emit_return(self) -> None:
        results = self.ctrl[0].results
        n = len(results)
        if n == 0:
            self.flush_impure()
            self.fuel_save()
            self.emit("return")
        else:
            self.flush_impure(n)
            items = self.stack[len(self.stack) - n:]
            self.fuel_save()
            if n == 1:
                self.emit(f"return {val(items[0])}")
            else:
                self.emit("return (" + ", ".join(val(i) for i in items) + ",)")

    def open_body(self) -> int:
        self.ind += 1
        return len(self.lines)

    def close_body(self, start: int) -> None:
        if len(self.lines) == start:
            self.emit("pass")
        self.ind -= 1

    def forward_pending(self, inner: Frame) -> None:
        """After the Python loop of `inner` ended: forward multi-level branches through it."""
        pending = inner.pending
        if not pending:
            return
        parent = None
        for frame in reversed(self.ctrl):
            if frame.py_loop:
                parent = frame
                break
        if parent is None:  # pragma: no cover - pending targets are always enclosing py loops
            return
        self.emit("if _br:")
        self.ind += 1
        here = parent.label in pending
        others = pending - {parent.label}
        if here:
            if others:
                self.emit(f"if _br == {parent.label}:")
                self.ind += 1
            self.emit("_br = 0")
            self.emit("continue" if parent.kind == "loop" else "break")
            if others:
                self.ind -= 1
        if others:
            self.emit("break")
        self.ind -= 1

    # --- control instructions ----------------------------------------------------------------------
    def enter(self, kind, ins, cond_it=None):
        params, results = self.ctx.blocktype(ins[1])
        self.flush_all()
        height = len(self.stack) - len(params)
        for k in range(height, len(self.stack)):  # params live in their slots, even constants
            self.materialize(k, force=True)
        self.labels += 1
        targeted = self._ins_index in self.targeted
        frame = Frame(kind, height, params, results, self.labels,
                      py_loop=(targeted and not self.flat))
        return frame

    def op_block(self, ins):
        frame = self.enter("block", ins)
        self.ctrl.append(frame)
        if self.flat:
            if self._ins_index in self.targeted:
                frame.flat_end = self.new_label()
            return
        if frame.py_loop:
            self.emit("while True:")
            frame.body_start = self.open_body()

    def op_loop(self, ins):
        frame = self.enter("loop", ins)
        self.ctrl.append(frame)
        self.fuel_flush()  # what ran before the loop is charged once
        if self.flat:
            if self._ins_index in self.targeted:
                frame.flat_start = self.new_label()
                self.start_state(frame.flat_start)
            self._on_loop_header()
            return
        if frame.py_loop:
            self.emit("while True:")
            frame.body_start = self.open_body()
        self._on_loop_header()  # Wasmtime checks even loops nothing branches back to

    def op_if(self, ins):
        cond = self.pop()
        self.flush_impure()
        params, results = self.ctx.blocktype(ins[1])
        # materialize everything below the condition (params included)
        self.flush_all()
        frame = self.enter("if", ins)
        self.ctrl.append(frame)
        if self.flat or self._ins_index not in self.if_with_else:
            self.fuel_flush()
        else:  # each arm charges what ran before the if: one subtraction per path
            frame.fuel_entry = self.fuel_pending
        if self.flat:
            frame.flat_end = self.new_label()
            frame.flat_else = self.new_label()
            self.emit(f"if not {tst(cond)}:")
            self.ind += 1
            self.emit(f"_pc = @{frame.flat_else}@")
            self.emit("continue")
            self.ind -= 1
            return
        if frame.py_loop:
            self.emit("while True:")
            self.ind += 1
        self.emit(f"if {tst(cond)}:")
        frame.body_start = self.open_body()

    def end_arm(self, frame: Frame) -> bool:
        """Fallthrough at the end of a block arm: results to their slots. Returns whether the
        end was reachable."""
        if self.dead:
            return False
        self.move_to(frame.height, len(frame.results))
        return True

    def reset_stack(self, frame: Frame, types) -> None:
        del self.stack[frame.height:]
        for k, vt in enumerate(types):
            self.stack.append(self.slot(frame.height + k, vt))

    def op_else(self, ins):
        frame = self.ctrl[-1]
        if not self.dead:
            self.fuel_flush()
        if frame.fuel_entry is not None:
            self.fuel_pending = frame.fuel_entry
        reachable = self.end_arm(frame)
        frame.reachable_end = reachable
        frame.else_seen = True
        self.dead = 0
        if self.flat:
            if reachable:
                self.emit(f"_pc = @{frame.flat_end}@")
                self.emit("continue")
            self.start_state(frame.flat_else)
            frame.flat_else = None
        else:
            self.close_body(frame.body_start)
            self.emit("else:")
            frame.body_start = self.open_body()
        self.reset_stack(frame, frame.params)

    def op_end(self, ins):
        frame = self.ctrl.pop() if len(self.ctrl) > 1 else None
        if frame is None:  # the function's final end
            if not self.dead:
                self.emit_return()
            return
        if not self.dead and (frame.kind == "if" or frame.branched):
            # a join point; the end of a block or loop nothing branches to is straight-line
            self.fuel_flush()
        reachable = self.end_arm(frame)
        self.dead = 0
        kind = frame.kind
        if self.flat:
            if kind == "if":
                if frame.flat_else is not None:  # no else arm: the else label is the end
                    self.start_state(frame.flat_else, also=frame.flat_end)
                    reachable = True
                else:
                    self.start_state(frame.flat_end)
                    reachable = reachable or frame.reachable_end or frame.branched
            elif kind == "block":
                if frame.flat_end is not None:
                    self.start_state(frame.flat_end)
                reachable = reachable or frame.branched
        else:
            if kind == "if":
                if not frame.else_seen:
                    reachable = True  # the implicit else passes the params through
                else:
                    reachable = reachable or frame.reachable_end
                self.close_body(frame.body_start)
                if frame.py_loop:
                    self.emit("break")
                    self.ind -= 1
            elif frame.py_loop:
                if reachable:
                    self.emit("break")
                self.close_body(frame.body_start)
            reachable = reachable or frame.branched
            self.forward_pending(frame)
        self.reset_stack(frame, frame.results)
        if not reachable:
            self.set_dead()

    def op_br(self, ins):
        self.fuel_flush()
        self.branch(ins[1])
        self.set_dead()

    def op_br_if(self, ins):
        cond = self.pop()
        target = self.ctrl[-1 - ins[1]]
        arity = len(target.label_types) if target.kind != "func" else len(target.results)
        self.flush_impure()
        # the branch values stay on the stack for the fallthrough: give them their own slots
        top = len(self.stack)
        for k in range(top - arity, top):
            self.materialize(k)
        pending = self.fuel_pending  # charged on the taken path; the fallthrough keeps it
        self.emit(f"if {tst(cond)}:")
        self.ind += 1
        self.fuel_flush()
        self.branch(ins[1])
        self.ind -= 1
        self.fuel_pending = pending

    def op_br_table(self, ins):
        index = self.pop()
        depths = list(ins[1]) + [ins[2]]
        target = self.ctrl[-1 - ins[2]]
        arity = len(target.label_types) if target.kind != "func" else len(target.results)
        self.flush_impure()
        top = len(self.stack)
        for k in range(top - arity, top):
            self.materialize(k)
        if index.const is not None:
            self.fuel_flush()
            k = index.const
            self.branch(depths[k] if k < len(depths) - 1 else depths[-1])
            self.set_dead()
            return
        # ranges of equal targets: [(lo, depth)], the last one open-ended
        ranges = []
        for k, d in enumerate(depths[:-1]):
            if ranges and ranges[-1][1] == d:
                continue
            ranges.append((k, d))
        if ranges and ranges[-1][1] == depths[-1]:
            pass
        else:
            ranges.append((len(depths) - 1, depths[-1]))
        if not index.atom:
            self.emit(f"_i = {val(index)}")
            name = "_i"
        else:
            name = val(index)
        saved = list(self.stack)

        pending = self.fuel_pending

        def emit_tree(rs):
            if len(rs) == 1:
                self.stack[:] = saved
                self.fuel_pending = pending  # charged on each path
                self.fuel_flush()
                self.branch(rs[0][1])
                return
            mid = len(rs) // 2
            self.emit(f"if {name} < {rs[mid][0]}:")
            self.ind += 1
            emit_tree(rs[:mid])
            self.ind -= 1
            self.emit("else:")
            self.ind += 1
            emit_tree(rs[mid:])
            self.ind -= 1

        emit_tree(ranges)
        self.stack[:] = saved
        self.fuel_pending = 0
        self.set_dead()

    def op_return(self, ins):
        self.emit_return()
        self.set_dead()

    def op_unreachable(self, ins):
        self.flush_impure()
        self.fuel_save()
        self.emit("_unreachable()")
        self.set_dead()

    def op_nop(self, ins):
        pass

    # --- flat mode ----------------------------------------------------------------------------------
    def new_label(self) -> int:
        self.labels += 1
        return self.labels

    def start_state(self, label: int, also: int | None = None) -> None:
        self.lines.append(f"\0STATE {label} {also if also is not None else ''}")

    def _resolve_flat(self, body: list[str]) -> list[str]:
        # split into states at the markers; number them in order
        states: list[list[str]] = [[]]
        numbers: dict[int, int] = {}
        for line in body:
            if line.startswith("\0STATE"):
                parts = line.split()
                states.append([])
                for p in parts[1:]:
                    numbers[int(p)] = len(states) - 1
            else:
                states[-1].append(line)
        out = []
        pattern = re.compile(r"@(\d+)@")
        for k, lines in enumerate(states):
            out.append(f"        if _pc <= {k}:")
            if not lines:
                out.append("            pass")
            for line in lines:
                out.append(pattern.sub(lambda m: str(numbers[int(m.group(1))]), line))
        # falling off the last state: the function's end was emitted as a return
        out.append("        return")  # pragma: no cover - unreachable in valid code
        return out

    # --- parametric ---------------------------------------------------------------------------------
    def op_drop(self, ins):
        it = self.pop()
        if it.impure:
            self.flush_impure()
            self.emit(val(it))

    def op_select(self, ins):
        c = self.pop()
        b = self.pop()
        a = self.pop()
        if a.impure or b.impure:
            self.stack.extend((a, b, c))
            n = len(self.stack)
            self.materialize(n - 3)
            self.materialize(n - 2)
            c = self.pop()
            b = self.pop()
            a = self.pop()
        self.push(self.new(f"({val(a)} if {tst(c)} else {val(b)})", a.vt, a, b, c))

    # --- variables ----------------------------------------------------------------------------------
    def op_local_get(self, ins):
        name = f"l{ins[1]}"
        self.stack.append(It(name, self.local_types[ins[1]], atom=True, reads=frozenset((name,))))

    def op_local_set(self, ins, tee=False):
        name = f"l{ins[1]}"
        it = self.pop()
        if it.code != name:
            self.flush_impure()
            self.kill_reads(name)
            self.emit(f"{name} = {val(it)}")
        if tee:
            self.stack.append(It(name, it.vt, atom=True, reads=frozenset((name,))))

    def op_local_tee(self, ins):
        self.op_local_set(ins, tee=True)

    def op_global_get(self, ins):
        k = ins[1]
        vt = self.ctx.global_types[k]
        code = f"_q2d(G{k}.value)" if vt == F64 else f"G{k}.value"
        self.push(It(code, vt, impure=True))

    def op_global_set(self, ins):
        k = ins[1]
        it = self.pop()
        self.flush_impure()
        vt = self.ctx.global_types[k]
        v = f"_d2q({val(it)})" if vt == F64 else val(it)
        self.emit(f"G{k}.value = {v}")

    # --- constants ----------------------------------------------------------------------------------
    def op_i32_const(self, ins):
        v = ins[1] & M32
        self.stack.append(self.const(str(v), I32, v))

    def op_i64_const(self, ins):
        v = ins[1] & M64
        self.stack.append(self.const(str(v), I64, v))

    def op_f32_const(self, ins):
        v = ins[1]
        self.stack.append(self.const(str(v), F32, v))

    def op_f64_const(self, ins):
        code = self.ctx.float_const(ins[1])
        self.stack.append(self.const(code, F64, ins[1]))

    # --- memory ---------------------------------------------------------------------------------------
    def address(self, a: It, offset: int, width: int):
        """(prefix-free address code for the access, bounds test code) for address entry a."""
        if a.atom:
            base = val(a)
            ea = base if not offset else f"{base} + {offset}"
            return ea, f"{base} + {offset + width} <= M{{m}}.size"
        base = "_a"
        ea = base if not offset else f"_a + {offset}"
        return ea, f"(_a := {val(a)}) + {offset + width} <= M{{m}}.size"

    def load(self, ins, vt, width, fmt):
        _, offset, m = ins[1], ins[2], ins[3]
        a = self.pop()
        ea, test = self.address(a, offset, width)
        test = test.replace("{m}", str(m))
        if fmt == "u8":
            expr = f"m{m}[{ea}]"
        elif fmt == "s8":
            expr = f"((m{m}[{ea}] ^ 128) - 128)"
        else:
            expr = f"_L{fmt}(m{m}, {ea})[0]"
        if fmt in ("s8", "s16", "s32"):
            expr = f"({expr} & {_mask(vt):#x})"
        self.push(self.new(f"({expr} if {test} else _oob())", vt, a, impure=True))

    def store(self, ins, vt, width, fmt):
        _, offset, m = ins[1], ins[2], ins[3]
        v = self.pop()
        if v.fx:
            self.stack.append(v)
            self.materialize(len(self.stack) - 1)
            v = self.pop()
        self.flush_impure(1)
        self.atomize_top()
        a = self.pop()
        ea, test = self.address(a, offset, width)
        test = test.replace("{m}", str(m))
        if fmt == "8":
            self.emit(f"if not {test}: _oob()")
            self.emit(f"m{m}[{ea}] = {raw(v)} & 255")
            return
        if fmt in ("16", "32") and vt == I64 or fmt == "16":
            value = f"{raw(v)} & {(1 << width * 8) - 1:#x}"
            fmt = {"16": "H", "32": "I"}[fmt]
        else:
            value = val(v)
        self.emit(f"_S{fmt}(m{m}, {ea}, {value}) if {test} else _oob()")

    def op_memory_size(self, ins):
        self.push(It(f"(M{ins[1]}.size >> 16)", I32, impure=True))

    def op_memory_grow(self, ins):
        if self.fuel:
            self.atomize_operands(1)
        n = self.pop()
        self.flush_impure()
        d = len(self.stack)
        self.emit(f"s{d} = _mem_grow(M{ins[1]}, {val(n)})")
        self.fuel_variable(n, f"s{d} != {M32:#x}")  # granted pages only
        self.stack.append(self.slot(d, I32))

    def bulk(self, call: str) -> None:
        """memory/table fill, copy, init: (d, s|v, n) on the stack; `call` formats them."""
        if self.fuel:
            self.atomize_operands(3)
        n, s, d = self.pop(), self.pop(), self.pop()
        self.flush_impure()
        self.emit(call.format(d=val(d), s=val(s), n=val(n)))
        self.fuel_variable(n)

    def op_memory_fill(self, ins):
        self.bulk(f"_mem_fill(M{ins[1]}, {{d}}, {{s}}, {{n}})")

    def op_memory_copy(self, ins):
        self.bulk(f"_mem_copy(M{ins[1]}, M{ins[2]}, {{d}}, {{s}}, {{n}})")

    def op_memory_init(self, ins):
        self.bulk(f"_mem_init(M{ins[2]}, _DATAS, {ins[1]}, {{d}}, {{s}}, {{n}})")

    def op_data_drop(self, ins):
        self.flush_impure()
        self.emit(f"_DATAS[{ins[1]}] = b''")

    # --- tables and references ------------------------------------------------------------------------
    def op_table_get(self, ins):
        i = self.pop()
        t = ins[1]
        vt = self.table_type(t)
        self.push(self.new(f"_table_get(T{t}, {val(i)})", vt, i, impure=True, fx=True))

    def table_type(self, t):
        from wasmcore.syntax.types import ExternKind
        tables = [imp.desc for imp in self.ctx.module.imports if imp.kind == ExternKind.TABLE]
        tables += list(self.ctx.module.tables)
        return tables[t].element

    def op_table_set(self, ins):
        v, i = self.pop(), self.pop()
        self.flush_impure()
        self.emit(f"_table_set(T{ins[1]}, {val(i)}, {val(v)})")

    def op_table_size(self, ins):
        self.push(It(f"len(T{ins[1]}.elements)", I32, impure=True))

    def op_table_grow(self, ins):
        if self.fuel:
            self.atomize_operands(2)
        n, init = self.pop(), self.pop()
        self.flush_impure()
        d = len(self.stack)
        self.emit(f"s{d} = _table_grow(T{ins[1]}, {val(init)}, {val(n)})")
        self.fuel_variable(n, f"s{d} != {M32:#x}")
        self.stack.append(self.slot(d, I32))

    def op_table_fill(self, ins):
        self.bulk(f"_table_fill(T{ins[1]}, {{d}}, {{s}}, {{n}})")

    def op_table_copy(self, ins):
        self.bulk(f"_table_copy(T{ins[1]}, T{ins[2]}, {{d}}, {{s}}, {{n}})")

    def op_table_init(self, ins):
        self.bulk(f"_table_init(T{ins[2]}, _ELEMS, {ins[1]}, {{d}}, {{s}}, {{n}})")

    def op_elem_drop(self, ins):
        self.flush_impure()
        self.emit(f"_ELEMS[{ins[1]}] = []")

    def op_ref_null(self, ins):
        self.stack.append(self.const("None", ins[1], 0))

    def op_ref_is_null(self, ins):
        a = self.pop()
        self.push(self.new(f"({val(a)} is None)", I32, a, cond=True))

    def op_ref_func(self, ins):
        self.stack.append(It(f"F{ins[1]}", FUNCREF, atom=True))

    # --- calls ------------------------------------------------------------------------------------------
    def call_results(self, call: str, results) -> None:
        n = len(results)
        if n == 0:
            self.emit(call)
        elif n == 1:
            d = len(self.stack)
            self.emit(f"s{d} = {call}")
            self.stack.append(self.slot(d, results[0]))
        else:
            d = len(self.stack)
            names = [f"s{d + k}" for k in range(n)]
            self.emit(", ".join(names) + f", = {call}")
            for k, vt in enumerate(results):
                self.stack.append(self.slot(d + k, vt))

    def op_call(self, ins):
        j = ins[1]
        ft = self.ctx.func_types[j]
        n = len(ft.params)
        self.flush_impure(n)
        args = self.stack[len(self.stack) - n:] if n else []
        del self.stack[len(self.stack) - n:]
        call = f"f{j}({', '.join(val(a) for a in args)})"
        if len(ft.results) == 1 and not self.fuel:
            # a deferred call: folds into its consumer (e.g. `l3 = f2(l1)`)
            self.push(It(call, ft.results[0], impure=True, fx=True,
                         reads=frozenset().union(*(a.reads for a in args))))
            return
        cost = self.ctx.leaf_cost(j) if self.fuel else None
        if cost is not None:
            self.call_leaf(j, args, ft, cost)
            return
        self.fuel_save()
        self.call_results(call, ft.results)
        self.fuel_reload()

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
        self.emit("if _fu <= 1:")
        self.emit("    _VM.fuel = _fu")
        self.emit(f"    {target}f{j}({argv})")
        self.emit(f"    _fu = _VM.fuel + {cost}")
        self.emit("else:")
        self.emit(f"    {target}u{j}({argv})")
        for k, vt in enumerate(ft.results):
            self.stack.append(self.slot(d + k, vt))
        self.fuel_pending += cost

    def op_call_indirect(self, ins):
        typeidx, t = ins[1], ins[2]
        ft = self.ctx.types[typeidx]
        n = len(ft.params)
        self.flush_impure()
        self.atomize_top()
        index = self.pop()
        for k in range(len(self.stack) - n, len(self.stack)):
            if not self.stack[k].atom:
                self.materialize(k)
        args = self.stack[len(self.stack) - n:] if n else []
        del self.stack[len(self.stack) - n:]
        argv = ", ".join(val(a) for a in args)
        i = val(index)
        d = len(self.stack)
        nres = len(ft.results)
        target = ""
        if nres == 1:
            target = f"s{d} = "
        elif nres > 1:
            target = ", ".join(f"s{d + k}" for k in range(nres)) + ", = "
        self.fuel_save()
        self.emit(f"_e = T{t}.elements")
        self.emit(f"if {i} < len(_e) and (_f := _e[{i}]) is not None and _f.type is FT{typeidx}"
                  f" and _f.backend == 'interp':")
        self.emit(f"    {target}_f.native({argv})")
        self.emit("else:")
        self.emit(f"    {target}_call_indirect(T{t}, {i}, FT{typeidx}{', ' if argv else ''}{argv})")
        self.fuel_reload()
        for k, vt in enumerate(ft.results):
            self.stack.append(self.slot(d + k, vt))

    def op_return_call(self, ins):
        self.op_call(ins)
        self.op_return(ins)

    def op_return_call_indirect(self, ins):
        self.op_call_indirect(ins)
        self.op_return(ins)

    # --- numeric ----------------------------------------------------------------------------------------
    def unop(self, code_fn, vt, cond=False, lazy=False, impure=False, fx=False):
        a = self.pop()
        self.push(self.new(code_fn(a), vt, a, cond=cond, lazy=lazy, impure=impure, fx=fx))

    def binop(self, code_fn, vt, cond=False, lazy=False, impure=False, fx=False, atoms=False):
        if atoms:
            self.atomize_top()
            b = self.pop()
            self.atomize_top()
            a = self.pop()
        else:
            b = self.pop()
            a = self.pop()
        self.push(self.new(code_fn(a, b), vt, a, b, cond=cond, lazy=lazy, impure=impure, fx=fx))


HANDLERS: dict = {}


def _h(code):
    def deco(fn):
        HANDLERS[code] = fn
        return fn
    return deco


C = FunctionCompiler
_SIMPLE = {
    0x00: C.op_unreachable, 0x01: C.op_nop, 0x02: C.op_block, 0x03: C.op_loop, 0x04: C.op_if,
    0x05: C.op_else, 0x0B: C.op_end, 0x0C: C.op_br, 0x0D: C.op_br_if, 0x0E: C.op_br_table,
    0x0F: C.op_return, 0x10: C.op_call, 0x11: C.op_call_indirect, 0x12: C.op_return_call,
    0x13: C.op_return_call_indirect, 0x1A: C.op_drop, 0x1B: C.op_select, 0x1C: C.op_select,
    0x20: C.op_local_get, 0x21: C.op_local_set, 0x22: C.op_local_tee, 0x23: C.op_global_get,
    0x24: C.op_global_set, 0x25: C.op_table_get, 0x26: C.op_table_set,
    0x3F: C.op_memory_size, 0x40: C.op_memory_grow,
    0x41: C.op_i32_const, 0x42: C.op_i64_const, 0x43: C.op_f32_const, 0x44: C.op_f64_const,
    0xD0: C.op_ref_null, 0xD1: C.op_ref_is_null, 0xD2: C.op_ref_func,
    op.misc(0x08): C.op_memory_init, op.misc(0x09): C.op_data_drop,
    op.misc(0x0A): C.op_memory_copy, op.misc(0x0B): C.op_memory_fill,
    op.misc(0x0C): C.op_table_init, op.misc(0x0D): C.op_elem_drop,
    op.misc(0x0E): C.op_table_copy, op.misc(0x0F): C.op_table_grow,
    op.misc(0x10): C.op_table_size, op.misc(0x11): C.op_table_fill,
}


HANDLERS.update(_SIMPLE)

# loads: opcode -> (type, width, struct format or u8/s8)
_LOADS = {
    0x28: (I32, 4, "I"), 0x29: (I64, 8, "Q"), 0x2A: (F32, 4, "I"), 0x2B: (F64, 8, "d"),
    0x2C: (I32, 1, "s8"), 0x2D: (I32, 1, "u8"), 0x2E: (I32, 2, "s16"), 0x2F: (I32, 2, "H"),
    0x30: (I64, 1, "s8"), 0x31: (I64, 1, "u8"), 0x32: (I64, 2, "s16"), 0x33: (I64, 2, "H"),
    0x34: (I64, 4, "s32"), 0x35: (I64, 4, "I"),
}
_STORES = {
    0x36: (I32, 4, "I"), 0x37: (I64, 8, "Q"), 0x38: (F32, 4, "I"), 0x39: (F64, 8, "d"),
    0x3A: (I32, 1, "8"), 0x3B: (I32, 2, "16"), 0x3C: (I64, 1, "8"), 0x3D: (I64, 2, "16"),
    0x3E: (I64, 4, "32"),
}
for _code, (_vt, _w, _fmt) in _LOADS.items():
    HANDLERS[_code] = (lambda vt, w, fmt: lambda self, ins: self.load(ins, vt, w, fmt))(_vt, _w, _fmt)
for _code, (_vt, _w, _fmt) in _STORES.items():
    HANDLERS[_code] = (lambda vt, w, fmt: lambda self, ins: self.store(ins, vt, w, fmt))(_vt, _w, _fmt)


def _signed(a: It, bits: int) -> str:
    sign = 1 << (bits - 1)
    if a.const is not None:
        v = a.const
        return str(v - (v & sign) * 2)
    return f"(({val(a)} ^ {sign:#x}) - {sign:#x})"


def _flip(a: It, bits: int) -> str:
    """The value xor the sign bit: orders like the signed value."""
    sign = 1 << (bits - 1)
    if a.const is not None:
        return str(a.const ^ sign)
    return f"({val(a)} ^ {sign:#x})"


def _int_ops(vt, bits):
    m = (1 << bits) - 1
    mx = f"{m:#x}"
    sh = bits - 1
    sfx = "32" if bits == 32 else "64"
    B = lambda fn, **kw: (lambda self, ins: self.binop(fn, vt, **kw))
    Bc = lambda fn, **kw: (lambda self, ins: self.binop(fn, I32, cond=True, **kw))
    U = lambda fn, **kw: (lambda self, ins: self.unop(fn, vt, **kw))

    def shift_amount(b):
        if b.const is not None:
            return str(b.const & sh)
        return f"({raw(b)} & {sh})"

    def div_u(self, ins):
        b = self.stack[-1]
        if b.const:  # a non-zero constant divisor
            self.binop(lambda a, b: f"({val(a)} // {b.code})", vt)
        else:
            self.binop(lambda a, b: f"_div_u{sfx}({val(a)}, {val(b)})", vt, impure=True, fx=True)

    def rem_u(self, ins):
        b = self.stack[-1]
        if b.const:
            self.binop(lambda a, b: f"({val(a)} % {b.code})", vt)
        else:
            self.binop(lambda a, b: f"_rem_u{sfx}({val(a)}, {val(b)})", vt, impure=True, fx=True)

    def rot(name, left):
        def handler(self, ins):
            b = self.stack[-1]
            if b.const is not None:
                k = b.const & sh
                if k == 0:
                    self.pop()
                    return
                if not left:
                    k = bits - k
                self.pop()
                self.atomize_top()
                a = self.pop()
                self.push(self.new(f"((({val(a)} << {k}) | ({val(a)} >> {bits - k})) & {mx})", vt, a))
            else:
                self.binop(lambda a, b: f"_{name}{sfx}({val(a)}, {raw(b)})", vt)
        return handler

    base = 0x6A if bits == 32 else 0x7C  # add
    cmp_base = 0x46 if bits == 32 else 0x51  # eq
    eqz = 0x45 if bits == 32 else 0x50
    unary_base = 0x67 if bits == 32 else 0x79  # clz

    def op_eqz(self, ins):
        a = self.stack[-1]
        if a.cond:
            self.pop()
            self.push(self.new(f"(not {a.code})", I32, a, cond=True))
        else:
            self.unop(lambda a: f"({val(a)} == 0)", I32, cond=True)
    HANDLERS[eqz] = op_eqz
    cmps = [
        lambda a, b: f"({val(a)} == {val(b)})",
        lambda a, b: f"({val(a)} != {val(b)})",
        lambda a, b: f"({_flip(a, bits)} < {_flip(b, bits)})",
        lambda a, b: f"({val(a)} < {val(b)})",
        lambda a, b: f"({_flip(a, bits)} > {_flip(b, bits)})",
        lambda a, b: f"({val(a)} > {val(b)})",
        lambda a, b: f"({_flip(a, bits)} <= {_flip(b, bits)})",
        lambda a, b: f"({val(a)} <= {val(b)})",
        lambda a, b: f"({_flip(a, bits)} >= {_flip(b, bits)})",
        lambda a, b: f"({val(a)} >= {val(b)})",
    ]
    for k, fn in enumerate(cmps):
        HANDLERS[cmp_base + k] = Bc(fn)
    HANDLERS[unary_base] = U(lambda a: f"({bits} - ({val(a)}).bit_length())")
    HANDLERS[unary_base + 1] = U(lambda a: f"_ctz{sfx}({val(a)})")
    HANDLERS[unary_base + 2] = U(lambda a: f"({val(a)}).bit_count()")

    def and_op(self, ins):
        b = self.stack[-1]
        a = self.stack[-2]
        lazy = (a.lazy or a.cond) and (b.lazy or b.cond)
        if b.const is not None or a.const is not None:
            lazy = False
        self.binop(lambda a, b: f"({raw(a)} & {raw(b)})", vt, lazy=lazy)

    def or_op(k):
        sym = "|" if k == 0 else "^"

        def handler(self, ins):
            b = self.stack[-1]
            a = self.stack[-2]
            self.binop(lambda a, b: f"({raw(a)} {sym} {raw(b)})", vt, lazy=a.lazy or b.lazy)
        return handler

    HANDLERS[base + 0] = B(lambda a, b: f"({raw(a)} + {raw(b)})", lazy=True)
    HANDLERS[base + 1] = B(lambda a, b: f"({raw(a)} - {raw(b)})", lazy=True)
    HANDLERS[base + 2] = B(lambda a, b: f"(({raw(a)} * {raw(b)}) & {mx})")
    HANDLERS[base + 3] = B(lambda a, b: f"_div_s{sfx}({val(a)}, {val(b)})", impure=True, fx=True)
    HANDLERS[base + 4] = div_u
    HANDLERS[base + 5] = B(lambda a, b: f"_rem_s{sfx}({val(a)}, {val(b)})", impure=True, fx=True)
    HANDLERS[base + 6] = rem_u
    HANDLERS[base + 7] = and_op
    HANDLERS[base + 8] = or_op(0)
    HANDLERS[base + 9] = or_op(1)
    HANDLERS[base + 10] = B(lambda a, b: f"({raw(a)} << {shift_amount(b)})", lazy=True)
    HANDLERS[base + 11] = B(lambda a, b: f"((({val(a)} ^ {1 << sh:#x}) - {1 << sh:#x}) >> "
                                         f"{shift_amount(b)} & {mx})")
    HANDLERS[base + 12] = B(lambda a, b: f"({val(a)} >> {shift_amount(b)})")
    HANDLERS[base + 13] = rot("rotl", True)
    HANDLERS[base + 14] = rot("rotr", False)


_int_ops(I32, 32)
_int_ops(I64, 64)


def _float_ops():
    # f64 (Python floats)
    Bd = lambda fn, vt=F64, **kw: (lambda self, ins: self.binop(fn, vt, **kw))
    Ud = lambda fn, vt=F64, **kw: (lambda self, ins: self.unop(fn, vt, **kw))
    cmp_ops = ["==", "!=", "<", ">", "<=", ">="]
    for k, sym in enumerate(cmp_ops):
        HANDLERS[0x61 + k] = Bd((lambda s: lambda a, b: f"({val(a)} {s} {val(b)})")(sym), I32,
                                cond=True)
        HANDLERS[0x5B + k] = Bd((lambda s: lambda a, b: f"(_f32v({val(a)}) {s} _f32v({val(b)}))")(sym),
                                I32, cond=True)
    HANDLERS[0x99] = Ud(lambda a: f"_fabs({val(a)})")
    HANDLERS[0x9A] = Ud(lambda a: f"(-{val(a)})")
    HANDLERS[0x9B] = Ud(lambda a: f"_fceil({val(a)})")
    HANDLERS[0x9C] = Ud(lambda a: f"_ffloor({val(a)})")
    HANDLERS[0x9D] = Ud(lambda a: f"_ftrunc({val(a)})")
    HANDLERS[0x9E] = Ud(lambda a: f"_fnearest({val(a)})")
    HANDLERS[0x9F] = Ud(lambda a: f"_fsqrt({val(a)})")
    HANDLERS[0xA0] = Bd(lambda a, b: f"({val(a)} + {val(b)})")
    HANDLERS[0xA1] = Bd(lambda a, b: f"({val(a)} - {val(b)})")
    HANDLERS[0xA2] = Bd(lambda a, b: f"({val(a)} * {val(b)})")

    def fdiv(self, ins):
        b = self.stack[-1]
        if b.const is not None and b.code[0] in "0123456789" and float(b.code) != 0.0:
            self.binop(lambda a, b: f"({val(a)} / {b.code})", F64)
        elif b.atom:
            self.binop(lambda a, b: f"({val(a)} / {b.code} if {b.code} else _fdiv0({val(a)}, {b.code}))"
                       if a.atom else f"_fdiv({val(a)}, {b.code})", F64)
        else:
            self.binop(lambda a, b: f"_fdiv({val(a)}, {val(b)})", F64)
    HANDLERS[0xA3] = fdiv
    HANDLERS[0xA4] = Bd(lambda a, b: f"_fmin({val(a)}, {val(b)})")
    HANDLERS[0xA5] = Bd(lambda a, b: f"_fmax({val(a)}, {val(b)})")
    HANDLERS[0xA6] = Bd(lambda a, b: f"_copysign({val(a)}, {val(b)})")
    # f32 (bits)
    HANDLERS[0x8B] = Ud(lambda a: f"({val(a)} & 0x7fffffff)", F32)
    HANDLERS[0x8C] = Ud(lambda a: f"({val(a)} ^ 0x80000000)", F32)
    for k, name in enumerate(["ceil", "floor", "trunc", "nearest", "sqrt"]):
        HANDLERS[0x8D + k] = Ud((lambda n: lambda a: f"_f32_{n}({val(a)})")(name), F32)
    for k, name in enumerate(["add", "sub", "mul", "div", "min", "max"]):
        HANDLERS[0x92 + k] = Bd((lambda n: lambda a, b: f"_f32_{n}({val(a)}, {val(b)})")(name), F32)
    HANDLERS[0x98] = Bd(lambda a, b: f"(({val(a)} & 0x7fffffff) | ({val(b)} & 0x80000000))", F32)
    # conversions
    I = lambda fn, vt, **kw: (lambda self, ins: self.unop(fn, vt, **kw))
    HANDLERS[0xA7] = I(lambda a: f"({raw(a)} & {M32:#x})", I32)
    HANDLERS[0xA8] = I(lambda a: f"_trunc_i32_s(_f32v({val(a)}))", I32, impure=True, fx=True)
    HANDLERS[0xA9] = I(lambda a: f"_trunc_i32_u(_f32v({val(a)}))", I32, impure=True, fx=True)
    HANDLERS[0xAA] = I(lambda a: f"_trunc_i32_s({val(a)})", I32, impure=True, fx=True)
    HANDLERS[0xAB] = I(lambda a: f"_trunc_i32_u({val(a)})", I32, impure=True, fx=True)
    HANDLERS[0xAC] = I(lambda a: f"({_signed(a, 32)} & {M64:#x})", I64)
    HANDLERS[0xAD] = I(lambda a: val(a), I64)
    HANDLERS[0xAE] = I(lambda a: f"_trunc_i64_s(_f32v({val(a)}))", I64, impure=True, fx=True)
    HANDLERS[0xAF] = I(lambda a: f"_trunc_i64_u(_f32v({val(a)}))", I64, impure=True, fx=True)
    HANDLERS[0xB0] = I(lambda a: f"_trunc_i64_s({val(a)})", I64, impure=True, fx=True)
    HANDLERS[0xB1] = I(lambda a: f"_trunc_i64_u({val(a)})", I64, impure=True, fx=True)
    HANDLERS[0xB2] = I(lambda a: f"_f32_convert_i32_s({val(a)})", F32)
    HANDLERS[0xB3] = I(lambda a: f"_f32_convert_i32_u({val(a)})", F32)
    HANDLERS[0xB4] = I(lambda a: f"_f32_convert_i64_s({val(a)})", F32)
    HANDLERS[0xB5] = I(lambda a: f"_f32_convert_i64_u({val(a)})", F32)
    HANDLERS[0xB6] = I(lambda a: f"_f64_to_f32({val(a)})", F32)
    HANDLERS[0xB7] = I(lambda a: f"float({_signed(a, 32)})", F64)
    HANDLERS[0xB8] = I(lambda a: f"float({val(a)})", F64)
    HANDLERS[0xB9] = I(lambda a: f"float({_signed(a, 64)})", F64)
    HANDLERS[0xBA] = I(lambda a: f"float({val(a)})", F64)
    HANDLERS[0xBB] = I(lambda a: f"_f32_to_f64({val(a)})", F64)
    HANDLERS[0xBC] = I(lambda a: val(a), I32)
    HANDLERS[0xBD] = I(lambda a: f"_d2q({val(a)})", I64)
    HANDLERS[0xBE] = I(lambda a: val(a), F32)
    HANDLERS[0xBF] = I(lambda a: f"_q2d({val(a)})", F64)
    HANDLERS[0xC0] = I(lambda a: f"((({raw(a)} & 0xff) ^ 0x80) - 0x80 & {M32:#x})", I32)
    HANDLERS[0xC1] = I(lambda a: f"((({raw(a)} & 0xffff) ^ 0x8000) - 0x8000 & {M32:#x})", I32)
    HANDLERS[0xC2] = I(lambda a: f"((({raw(a)} & 0xff) ^ 0x80) - 0x80 & {M64:#x})", I64)
    HANDLERS[0xC3] = I(lambda a: f"((({raw(a)} & 0xffff) ^ 0x8000) - 0x8000 & {M64:#x})", I64)
    HANDLERS[0xC4] = I(lambda a: f"((({raw(a)} & 0xffffffff) ^ 0x80000000) - 0x80000000 & {M64:#x})", I64)
    sat = [("i32_s", True, I32), ("i32_u", True, I32), ("i32_s", False, I32), ("i32_u", False, I32),
           ("i64_s", True, I64), ("i64_u", True, I64), ("i64_s", False, I64), ("i64_u", False, I64)]
    for k, (name, from32, vt) in enumerate(sat):
        if from32:
            fn = (lambda n: lambda a: f"_trunc_sat_{n}(_f32v({val(a)}))")(name)
        else:
            fn = (lambda n: lambda a: f"_trunc_sat_{n}({val(a)})")(name)
        HANDLERS[op.misc(k)] = I(fn, vt)


_float_ops()

# An instruction's index is needed by block/loop/if (prescan results are keyed by it).
_BLOCK_CODES = (0x02, 0x03, 0x04)


# Wasmtime's free operators: no code (nop, drop) or pure control flow.
FREE_OPS = frozenset((0x01, 0x1A, 0x02, 0x03, 0x00, 0x0F, 0x05, 0x0B))


def _run_with_index(self) -> None:
    handlers = HANDLERS
    charge = self.fuel
    for index, ins in enumerate(self.body):
        code = ins[0]
        if self.dead:
            if code in _BLOCK_CODES:
                self.dead += 1
                continue
            if code == 0x0B:
                if self.dead > 1:
                    self.dead -= 1
                    continue
                self.op_end(ins)  # resets self.dead
                continue
            if code == 0x05 and self.dead == 1:
                self.op_else(ins)  # resets self.dead
            continue
        handler = handlers.get(code)
        if handler is None:
            if code < SIMD_PREFIX:
                raise NotImplementedError(f"interp: opcode {op.NAMES.get(code, hex(code))}")
            from wasmcore_interp._simd import translate as handler
        self._ins_index = index
        if charge and code not in FREE_OPS:
            self.fuel_pending += 1
        handler(self, ins)


FunctionCompiler.run = _run_with_index


def compile_function(ctx: CompileContext, func_index: int) -> str:
    return FunctionCompiler(ctx, func_index).compile()
