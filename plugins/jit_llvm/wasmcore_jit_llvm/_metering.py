"""Fuel and epoch checks in generated code (docs/jit_llvm.md, "Fuel and epochs in generated
code"; docs/resource-control.md). Nothing is emitted unless the engine's config turns them on.

- Module level: `declare_resumes` declares `f<j>_resume`, the second translation of function j
  an epoch check that found the deadline reached continues in; `_liveness` decides which
  functions check on entry at all.
- Function level: `Metering`, a part of FunctionTranslator: the fuel local's charges, checks
  and publishing, the epoch checks (which locals they keep alive comes from `_liveness`), and
  the entry of `f<j>_resume` (a switch to the check it continues at).
"""

from __future__ import annotations

from llvmlite import ir

from wasmcore.syntax import opcodes as op
from wasmcore_jit_llvm import _layout as L
from wasmcore_jit_llvm._ir import I32, I64, LLTYPE, PTR
from wasmcore_jit_llvm._liveness import call_checked_loops, epoch_checked_entries, live_locals


# Wasmtime's free operators (no code or pure control flow): nop drop block loop else end return
# unreachable.
FUEL_FREE = frozenset((op.NOP, op.DROP, op.BLOCK, op.LOOP, op.ELSE, op.END, op.RETURN,
                       op.UNREACHABLE))


class _OutOfFuelCallAttributes(ir.instructions.CallInstrAttributes):
    """llvmlite knows only a few call attributes; "inaccessiblemem" stands for LLVM's
    memory(inaccessiblemem: readwrite): the callee touches no memory this module can see."""
    _known = ir.instructions.CallInstrAttributes._known | {"inaccessiblemem"}

    def _expand(self, name, typ):
        return "memory(inaccessiblemem: readwrite)" if name == "inaccessiblemem" else name


def declare_resumes(mt) -> dict:
    """With epochs on, j -> f{j}_resume: a second translation of function j that a check
    which found the deadline reached continues in (see Metering.epoch_check). Only a function
    whose calls go past functions that make none has an entry check (mt.entry_checked, see
    _liveness); without loops either, it has no check at all and no f{j}_resume."""
    resumes = {}
    module, n_imp, fuel = mt.module, mt.n_imports, mt.fuel
    for j in range(n_imp, len(mt.func_types)) if mt.epochs else ():
        if j not in mt.entry_checked and not any(
                ins[0] == op.LOOP for ins in module.functions[j - n_imp].body):
            continue
        ft = mt.func_types[j]
        target = mt.bodies.get(j) or mt.functions[j]
        local_types = list(ft.params) + list(module.functions[j - n_imp].locals)
        fnty = ir.FunctionType(target.function_type.return_type,
                               [PTR] + [I64] * fuel + [I32] + [LLTYPE[t] for t in local_types])
        resume = ir.Function(mt.ir, fnty, f"f{j}_resume")
        resume.linkage = "internal"
        resume.attributes.add("noinline")
        resume.attributes.add("cold")
        resumes[j] = resume
    return resumes


def entry_checked(module, epochs: bool) -> frozenset:
    """The defined functions that check the epoch on entry (_liveness): none without epochs."""
    return epoch_checked_entries(module) if epochs else frozenset()


class Metering:
    """Fuel and epoch code of one function (a base of FunctionTranslator: it uses the
    translator's builder, locals, trap blocks and depth)."""

    def shared_slot(self, slot):
        return self.b.gep(self.shared, [ir.Constant(I64, slot)], source_etype=I64)

    def fuel_slot_load(self):
        v = self.b.load(self.shared_slot(L.SH_FUEL), typ=I64)
        v.set_metadata("tbaa", self.mt.tbaa_ctx)
        return v

    def charge(self, amount):
        """Subtract `amount` (an int or an i64 value) from the fuel local."""
        b = self.b
        if isinstance(amount, int):
            amount = ir.Constant(I64, amount)
        b.store(b.sub(b.load(self.fuel_p, typ=I64), amount), self.fuel_p)

    def fuel_check(self):
        """Out of fuel when the local is <= 0: the slow path refills it or traps."""
        if not self.fuel:
            return
        b = self.b
        v = b.load(self.fuel_p, typ=I64)
        slow, cont = self.fn.append_basic_block("out_of_fuel"), self.fn.append_basic_block()
        br = b.cbranch(b.icmp_signed("<=", v, ir.Constant(I64, 0)), slow, cont)
        br.set_metadata("prof", self.mt.cold)
        b.position_at_end(slow)
        # The refill touches no memory native code reads (it writes SH_FUEL, which native code
        # rereads only after its next publish), so the call does not clobber the loop around
        # it; a trap comes back as a result <= 0 with the store's exception pending.
        zero = ir.Constant(I64, 0)
        thunk = self.mt.out_of_fuel
        r = b.call(thunk, [self.vmctx, v], cconv=thunk.calling_convention or None)
        r.attributes = _OutOfFuelCallAttributes(["nounwind", "inaccessiblemem"])
        refilled = self.fn.append_basic_block("refilled")
        b.cbranch(b.icmp_signed("<=", r, zero), self.fuel_trap_block(b.block, v), refilled)
        b.position_at_end(refilled)
        b.store(r, self.fuel_p)
        b.branch(cont)
        b.position_at_end(cont)

    def fuel_trap_block(self, pred, fuel):
        """Out of fuel for good: store the trap status and the fuel left here, since LLVM
        assumes the call that set them wrote no memory; then unwind."""
        if self._fuel_trap is None:
            saved = self.b.block
            bb = self.fn.append_basic_block("fuel_trap")
            self.b.position_at_end(bb)
            self._fuel_trap = self.b.phi(I64)
            st = self.b.store(self._fuel_trap, self.shared_slot(L.SH_FUEL))
            st.set_metadata("tbaa", self.mt.tbaa_ctx)
            st = self.b.store(ir.Constant(I64, L.STATUS_HOST_EXCEPTION), self.shared)
            st.set_metadata("tbaa", self.mt.tbaa_ctx)
            self.record_frame()
            self.ret_trapped(self._fuel_trap if self.body else None)
            self.b.position_at_end(saved)
        self._fuel_trap.add_incoming(fuel, pred)
        return self._fuel_trap.parent

    def fuel_publish(self):
        """Before a call or a return: the store (and a callee) see the fuel left."""
        if self.fuel:
            st = self.b.store(self.b.load(self.fuel_p, typ=I64), self.shared_slot(L.SH_FUEL))
            st.set_metadata("tbaa", self.mt.tbaa_ctx)

    def fuel_reload(self):
        if self.fuel:
            self.b.store(self.fuel_slot_load(), self.fuel_p)

    def fuel_variable(self, amount, ok=None):
        """After a bulk operation (or a grow that succeeded: `ok`), charge `amount` (i32) more.
        Wasmtime folds a constant amount into the block's static charge and checks only a
        non-constant one."""
        if not self.fuel:
            return
        b = self.b
        const = isinstance(amount, ir.Constant)
        amount = b.zext(amount, I64)
        if ok is not None:
            amount = b.select(ok, amount, ir.Constant(I64, 0))
        self.charge(amount)
        if not const:
            self.fuel_check()

    def epoch_cell(self):
        """The engine's epoch cell: its address is fixed for the store's lifetime."""
        v = self.b.load(self.shared_slot(L.SH_EPOCH_PTR), typ=PTR)
        v.set_metadata("tbaa", self.mt.tbaa_ctx)
        v.set_metadata("invariant.load", self.mt.ir.add_metadata([]))
        return v

    def epoch_check(self, live=-1):
        """Interrupt when the engine's epoch reached the deadline. The epoch is read at every
        check; the deadline changes only in a call (a host call or the deadline callback)."""
        if not self.epochs:
            return
        b = self.b
        # With the operand stack empty (function entry, most loop headers), a deadline
        # reached continues in f{j}_resume: the deadline callback may run any code, and a
        # call that rejoined the loop here would make LLVM assume every loop clobbers
        # memory (and spill registers around it). The rarer checks rejoin.
        resumable = not self.stack
        if resumable:
            k = self.n_checks
            self.n_checks += 1
            if self.resume:
                at = self.fn.append_basic_block(f"check{k}")
                b.branch(at)
                b.position_at_end(at)
                self.entry_term.add_case(ir.Constant(I32, k), at)
        cell = self.at_entry(self.epoch_cell)
        epoch = b.load_atomic(cell, "monotonic", 8, typ=I64)  # another thread increments it
        # Only this thread writes the deadline (the runtime, in a call), so a plain load:
        # LLVM keeps it in a register through a loop without calls, as Cranelift does, and
        # reloads it after a call. The signal relay raises the epoch cell instead.
        deadline = b.load(self.shared_slot(L.SH_DEADLINE), typ=I64)
        deadline.set_metadata("tbaa", self.mt.tbaa_ctx)
        slow, cont = self.fn.append_basic_block("epoch_deadline"), self.fn.append_basic_block()
        br = b.cbranch(b.icmp_unsigned(">=", epoch, deadline), slow, cont)
        br.set_metadata("prof", self.mt.cold)
        b.position_at_end(slow)
        if resumable and not self.resume:
            args = [self.vmctx] + ([b.load(self.fuel_p, typ=I64)] if self.fuel else [])
            args.append(ir.Constant(I32, k))
            # Only the live locals (bits of `live`): a dead one passed would stay alive.
            args += [b.load(a, typ=t) if live >> i & 1 else ir.Constant(t, ir.Undefined)
                     for i, (a, t) in enumerate(self.locals)]
            # This frame's depth goes back first: f{j}_resume continues as this frame (and
            # leaves the depth as it found it), and nothing stays live across the call, so
            # the check costs its function no callee-saved registers.
            st = b.store(self.depth, self.depth_p)
            st.set_metadata("tbaa", self.mt.tbaa_ctx)
            r = b.call(self.mt.resumes[self.j], args, tail=True)
            if self.body is None and not self.ft.results:
                b.ret_void()
            else:
                b.ret(r)
            b.position_at_end(cont)
            return
        self.rt(L.RT_EPOCH_DEADLINE)
        self.fuel_reload()  # the deadline callback may add fuel
        b.branch(cont)
        b.position_at_end(cont)

    def entry_epoch_check(self):
        """At function entry: find which locals each check keeps alive and which loops need
        no header check (_liveness), then check on entry if this function does."""
        live_at_entry, self.live_at_loops = (live_locals(self.function.body) if self.epochs
                                             else (-1, {}))
        self.call_checked_loops = call_checked_loops(self.function.body, self.mt.entry_checked) \
            if self.epochs else set()
        if self.j in self.mt.entry_checked:
            self.epoch_check(live_at_entry)

    def loop_epoch_check(self, ins):
        """At a loop header, unless every iteration first calls a function checking on entry."""
        if id(ins) not in self.call_checked_loops:
            self.epoch_check(self.live_at_loops.get(id(ins), -1))

    def resume_entry(self, depth, depth_p):
        """f{j}_resume: the function that called it has done the entry checks and charges; a
        switch on the check's number jumps to that check (epoch_check adds the cases)."""
        b = self.b
        depth.set_metadata("tbaa", self.mt.tbaa_ctx)
        self.depth, self.depth_p = depth, depth_p
        self.live_at_loops = {}  # the checks here call the runtime and pass no locals
        self.call_checked_loops = call_checked_loops(self.function.body, self.mt.entry_checked)
        nowhere = self.fn.append_basic_block("no_such_check")
        self.entry_term = b.switch(self.fn.args[1 + self.fuel], nowhere)
        b.position_at_end(nowhere)
        b.unreachable()
        b.position_at_end(self.fn.append_basic_block("unentered"))
        if self.j in self.mt.entry_checked:
            self.epoch_check()  # numbered as the entry check of f{j}
