"""What epoch checks need to know of a function: whether it needs an entry check, and which
locals are live at its entry and at each loop header.

Checks need only break every unbounded path, as Wasmtime's at each entry and loop header do;
two of those are redundant and left out:
- a function needs no entry check if it makes no calls, or only direct calls to functions
  that make none: it runs in time bounded by its code (and its callees') between its loop
  checks. Any longer chain of calls checks at each link, as does a call to what the module
  cannot see (an import, call_indirect), so recursion, or a tree of calls exponential in the
  module's size, is still stopped; a call from the host checks before entering a function
  without the check (StoreState.metered);
- a loop whose every iteration makes a direct call to a function with an entry check (fib's)
  passes that check on every turn, so its header needs none.

An epoch check that finds the deadline reached continues in a second copy of the function and
passes it the locals (see _metering.Metering.epoch_check). Passing a dead local would keep it
alive, in a register or a spill slot, through the whole loop; this backward analysis over the
structured control flow finds the locals some path may still read before writing.
"""

from __future__ import annotations

from wasmcore.syntax import opcodes as op
from wasmcore.syntax.types import ExternKind

_DIRECT_CALLS = frozenset({op.CALL, op.RETURN_CALL})
_CALLS = _DIRECT_CALLS | {op.CALL_INDIRECT, op.RETURN_CALL_INDIRECT}

_ENDS_BLOCK = {op.BR, op.BR_IF, op.BR_TABLE, op.RETURN, op.UNREACHABLE,
               op.BLOCK, op.LOOP, op.IF, op.ELSE, op.END}


def epoch_checked_entries(module) -> frozenset[int]:
    """Indices (imports first, as in the function index space) of the defined functions that
    check the epoch on entry: all but those whose direct calls, if any, only reach functions
    that make no calls."""
    n_imports = sum(1 for i in module.imports if i.kind == ExternKind.FUNC)
    callees: list = []  # per defined function: defined callees, or None if it calls the unseen
    for function in module.functions:
        out: set | None = set()
        for ins in function.body:
            code = ins[0]
            if code in _DIRECT_CALLS and ins[1] >= n_imports:
                out.add(ins[1] - n_imports)
            elif code in _CALLS:
                out = None
                break
        callees.append(out)
    leaves = {k for k, out in enumerate(callees) if out is not None and not out}
    return frozenset(n_imports + k for k, out in enumerate(callees)
                     if out is None or not out <= leaves)


_STRUCTURED = frozenset({op.BLOCK, op.LOOP, op.IF, op.ELSE, op.END, op.BR, op.BR_TABLE,
                         op.RETURN, op.UNREACHABLE})


def call_checked_loops(body, entry_checked) -> set[int]:
    """id() of each loop instruction whose body, before any control flow that could skip it,
    directly calls a function in `entry_checked` (a conservative test for "every iteration")."""
    found = set()
    for i, ins in enumerate(body):
        if ins[0] != op.LOOP:
            continue
        for later in body[i + 1:]:
            code = later[0]
            if code == op.CALL:
                if later[1] in entry_checked:
                    found.add(id(ins))
                    break
            elif code == op.BR_IF:
                if later[1] == 0:  # a back-edge that may skip what follows
                    break
            elif code in _STRUCTURED:
                break
    return found


class _Block:
    __slots__ = ("use", "defs", "succ", "live_in")

    def __init__(self):
        self.use = 0  # locals read before any write in this block (bit i = local i)
        self.defs = 0
        self.succ: list = []
        self.live_in = 0


def live_locals(body) -> tuple[int, dict]:
    """(live at entry, {id(loop instruction): live at its header}) as bit masks."""
    blocks = [_Block()]
    cur = blocks[0]
    exit_block = _Block()  # after the function: nothing is live

    def new_block():
        b = _Block()
        blocks.append(b)
        return b

    # Each construct: [kind, label target, continuation after `end`, else block of an if]
    constructs = [["func", exit_block, exit_block, None]]
    loop_headers = {}
    for ins in body:
        code = ins[0]
        if code not in _ENDS_BLOCK:
            if code == op.LOCAL_GET:
                bit = 1 << ins[1]
                if not cur.defs & bit:
                    cur.use |= bit
            elif code == op.LOCAL_SET or code == op.LOCAL_TEE:
                cur.defs |= 1 << ins[1]
            continue
        if code == op.BLOCK:
            after = _Block()
            constructs.append(["block", after, after, None])
            nxt = new_block()
            cur.succ.append(nxt)
            cur = nxt
        elif code == op.LOOP:
            header = new_block()
            cur.succ.append(header)
            constructs.append(["loop", header, _Block(), None])
            loop_headers[id(ins)] = header
            cur = header
        elif code == op.IF:
            after, then, other = _Block(), new_block(), new_block()
            cur.succ += [then, other]
            constructs.append(["if", after, after, other])
            cur = then
        elif code == op.ELSE:
            c = constructs[-1]
            cur.succ.append(c[2])
            cur, c[3] = c[3], None
        elif code == op.END:
            c = constructs.pop()
            cur.succ.append(c[2])
            if c[3] is not None:  # an if without else: the false edge goes straight on
                c[3].succ.append(c[2])
            if c[0] == "func":
                break
            blocks.append(c[2])
            cur = c[2]
        else:  # br, br_if, br_table, return, unreachable
            if code == op.BR or code == op.BR_IF:
                cur.succ.append(constructs[-1 - ins[1]][1])
            elif code == op.BR_TABLE:
                for depth in set(ins[1]) | {ins[2]}:
                    cur.succ.append(constructs[-1 - depth][1])
            if code == op.BR_IF:
                nxt = new_block()
                cur.succ.append(nxt)
            else:  # what follows is unreachable until the next end or else
                nxt = new_block()
            cur = nxt
    # Backward to a fixed point; reverse creation order visits most successors first.
    changed = True
    while changed:
        changed = False
        for b in reversed(blocks):
            out = 0
            for s in b.succ:
                out |= s.live_in
            live = b.use | (out & ~b.defs)
            if live != b.live_in:
                b.live_in = live
                changed = True
    return blocks[0].live_in, {k: h.live_in for k, h in loop_headers.items()}
