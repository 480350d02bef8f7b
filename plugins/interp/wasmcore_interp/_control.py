"""Control flow in the function compiler: block/loop/if/else/end, br/br_if/br_table, return,
unreachable and the calls (spec "Control Instructions",
https://webassembly.github.io/spec/core/exec/instructions.html#control-instructions).

Structured mode: a `block`/`if` that is branched to becomes `while True: ... break`, a `loop`
that is branched to becomes `while True: ... continue`; branches crossing several Python loops
set `_br` to the target's label number and break, and the code after each inner loop forwards
them. CPython allows only 20 nested loops (and 100 indentation levels), so functions nested
deeper are compiled in "flat" mode instead: a state machine `while True: if _pc <= k: ...` over
the function's labels. `prescan` decides, before translation, which constructs need a loop.
"""

from __future__ import annotations

import re

from wasmcore.syntax import opcodes as op
from wasmcore.syntax.types import BLOCKTYPE_EMPTY
from wasmcore_interp._stack import It, tst, val

MAX_PY_LOOPS = 18
MAX_INDENT = 80
BLOCK_STARTS = (op.BLOCK, op.LOOP, op.IF)
BRANCHES = (op.BR, op.BR_IF, op.BR_TABLE)


def prescan(body):
    """Control-flow facts for one body, keyed by instruction index.

    Returns (needs_loop, tail_ok, all_targets, max_loops, max_indent): the block/loop/if starts
    that need a Python `while True:`; the (instruction, depth) branches that are a plain `break`
    out of the innermost Python loop because nothing but `end`s runs between that loop's end and
    the target's end (and no values are carried); every branch target; the deepest Python loop
    nesting and indentation.
    """
    end_of = {}
    else_of = {}
    kind_of = {}
    bt_of = {}
    ctrl = []
    for i, ins in enumerate(body):
        code = ins[0]
        if code in BLOCK_STARTS:
            ctrl.append(i)
            kind_of[i] = code
            bt_of[i] = ins[1]
        elif code == op.ELSE:
            if ctrl:
                else_of[ctrl[-1]] = i
        elif code == op.END:
            if ctrl:
                end_of[ctrl.pop()] = i
    branches = []
    ctrl = []
    for i, ins in enumerate(body):
        code = ins[0]
        if code in BLOCK_STARTS:
            ctrl.append(i)
        elif code == op.END:
            if ctrl:
                ctrl.pop()
        elif code in BRANCHES:
            depths = (ins[1],) if code != op.BR_TABLE else (*ins[1], ins[2])
            for depth in set(depths):
                if depth >= len(ctrl):
                    continue  # the function's label: a return
                target = ctrl[-1 - depth]
                crossed = ctrl[len(ctrl) - depth:][::-1]
                tail = kind_of[target] != op.LOOP and bt_of[target] == BLOCKTYPE_EMPTY and \
                    bool(crossed)
                if tail:
                    chain = crossed + [target]
                    for f, parent in zip(chain, chain[1:]):
                        if bt_of[f] != BLOCKTYPE_EMPTY:
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
        if code in BLOCK_STARTS:
            dl = 1 if i in needs_loop else 0
            di = dl + (1 if code == op.IF else 0)
            stack.append((dl, di))
            loops += dl
            indent += di
            max_loops = max(max_loops, loops)
            max_indent = max(max_indent, indent)
        elif code == op.END and stack:
            dl, di = stack.pop()
            loops -= dl
            indent -= di
        elif code == op.BR_TABLE:
            n = len(ins[1]) + 1
            max_indent = max(max_indent, indent + n.bit_length() + 2)
    all_targets = {target for _, _, target, _, _ in branches}
    return needs_loop, tail_ok, all_targets, max_loops, max_indent


def ifs_with_else(body) -> frozenset:
    """Indices of the `if` instructions that have an `else`."""
    found, ctrl = set(), []
    for i, ins in enumerate(body):
        code = ins[0]
        if code in BLOCK_STARTS:
            ctrl.append(i)
        elif code == op.ELSE and ctrl:
            found.add(ctrl[-1])
        elif code == op.END and ctrl:
            ctrl.pop()
    return frozenset(found)


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


class ControlFlow:
    """Control instructions of the function compiler (mixed into `FunctionCompiler`)."""

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
        if (self.ins_index, depth) in self.tail_ok:
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
        targeted = self.ins_index in self.targeted
        frame = Frame(kind, height, params, results, self.labels,
                      py_loop=(targeted and not self.flat))
        return frame

    def op_block(self, ins):
        frame = self.enter("block", ins)
        self.ctrl.append(frame)
        if self.flat:
            if self.ins_index in self.targeted:
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
            if self.ins_index in self.targeted:
                frame.flat_start = self.new_label()
                self.start_state(frame.flat_start)
            self.on_loop_header()
            return
        if frame.py_loop:
            self.emit("while True:")
            frame.body_start = self.open_body()
        self.on_loop_header()  # Wasmtime checks even loops nothing branches back to

    def op_if(self, ins):
        cond = self.pop()
        self.flush_impure()
        # materialize everything below the condition (params included)
        self.flush_all()
        frame = self.enter("if", ins)
        self.ctrl.append(frame)
        if self.flat or self.ins_index not in self.if_with_else:
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
        if not ranges or ranges[-1][1] != depths[-1]:
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

    def resolve_flat(self, body: list[str]) -> list[str]:
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


C = ControlFlow
HANDLERS = {
    op.UNREACHABLE: C.op_unreachable, op.NOP: C.op_nop, op.BLOCK: C.op_block, op.LOOP: C.op_loop,
    op.IF: C.op_if, op.ELSE: C.op_else, op.END: C.op_end, op.BR: C.op_br, op.BR_IF: C.op_br_if,
    op.BR_TABLE: C.op_br_table, op.RETURN: C.op_return, op.CALL: C.op_call,
    op.CALL_INDIRECT: C.op_call_indirect, op.RETURN_CALL: C.op_return_call,
    op.RETURN_CALL_INDIRECT: C.op_return_call_indirect,
}
del C
