"""Linear memory in generated code (spec "Memory Instructions"; docs/jit_llvm.md, "Memory"),
as a part of FunctionTranslator: the memory cell and base (loaded once per function), the byte
size kept in a local and reloaded after every call, explicitly bounds-checked accesses, the
bulk operations (llvm.memset / llvm.memmove after a range check) and the runtime calls for
memory.grow / memory.init / data.drop.

`HANDLERS` maps each opcode handled here to its method."""

from __future__ import annotations

from llvmlite import ir

from wasmcore.errors import TrapCode
from wasmcore.syntax import opcodes as op
from wasmcore_jit_llvm import _layout as L
from wasmcore_jit_llvm._ir import F32, F64, I1, I8, I16, I32, I64, PTR, alloca

# load opcode -> (access bytes, loaded LLVM type, result type, signed extension?)
_LOADS = {
    op.I32_LOAD: (4, I32, I32, None), op.I64_LOAD: (8, I64, I64, None),
    op.F32_LOAD: (4, F32, F32, None), op.F64_LOAD: (8, F64, F64, None),
    op.I32_LOAD8_S: (1, I8, I32, True), op.I32_LOAD8_U: (1, I8, I32, False),
    op.I32_LOAD16_S: (2, I16, I32, True), op.I32_LOAD16_U: (2, I16, I32, False),
    op.I64_LOAD8_S: (1, I8, I64, True), op.I64_LOAD8_U: (1, I8, I64, False),
    op.I64_LOAD16_S: (2, I16, I64, True), op.I64_LOAD16_U: (2, I16, I64, False),
    op.I64_LOAD32_S: (4, I32, I64, True), op.I64_LOAD32_U: (4, I32, I64, False),
}
_STORES = {
    op.I32_STORE: (4, None), op.I64_STORE: (8, None), op.F32_STORE: (4, None),
    op.F64_STORE: (8, None), op.I32_STORE8: (1, I8), op.I32_STORE16: (2, I16),
    op.I64_STORE8: (1, I8), op.I64_STORE16: (2, I16), op.I64_STORE32: (4, I32),
}


class MemoryOps:
    """The linear-memory accesses of one function (a base of FunctionTranslator)."""

    def mem_cell(self, k):
        cell = self._mem_cache.get(k)
        if cell is None:
            def load():
                c = self.load_slot(self.layout.memory(k))
                base = self.b.load(c, typ=PTR)
                base.set_metadata("tbaa", self.mt.tbaa_ctx)
                base.set_metadata("invariant.load", self.mt.ir.add_metadata([]))
                return c, base
            cell = self._mem_cache[k] = self.at_entry(load)
        return cell

    def mem_size(self, k):
        """Memory k's byte size, kept in a local: only a call (or `rt`) can grow a memory, so it
        is reloaded after each one. A loop's bounds checks then use a register even when a
        rarely taken slow path (out of fuel, epoch deadline) calls out and rejoins the loop."""
        p = self._size_locals.get(k)
        if p is None:
            c, _ = self.mem_cell(k)
            p = self._size_locals[k] = self.at_entry(lambda: alloca(self.b, I64, f"msize{k}"))
            self.at_entry(lambda: self._reload_size(c, p))
            saved = self.b.block
            for bb in self.after_calls:
                self.b.position_at_start(bb)
                self._reload_size(c, p)
            self.b.position_at_end(saved)
        return self.b.load(p, typ=I64)

    def _reload_size(self, cell, p):
        size = self.b.load(self.b.gep(cell, [ir.Constant(I64, L.MC_SIZE)], source_etype=I64),
                           typ=I64)
        size.set_metadata("tbaa", self.mt.tbaa_ctx)
        self.b.store(size, p)

    def effective(self, k, addr, offset, nbytes):
        """Bounds-checked pointer to `nbytes` at addr + offset of memory k."""
        b = self.b
        ea = b.add(b.zext(addr, I64), ir.Constant(I64, offset)) if offset else b.zext(addr, I64)
        end = b.add(ea, ir.Constant(I64, nbytes))
        self.trap_if(b.icmp_unsigned(">", end, self.mem_size(k)),
                     L.status_of(TrapCode.MEMORY_OUT_OF_BOUNDS))
        _, base = self.mem_cell(k)
        return b.gep(base, [ea], source_etype=I8)

    def range_check(self, k, start, n):
        """Trap unless [start, start + n) (i32 values) lies within memory k."""
        b = self.b
        end = b.add(b.zext(start, I64), b.zext(n, I64))
        self.trap_if(b.icmp_unsigned(">", end, self.mem_size(k)),
                     L.status_of(TrapCode.MEMORY_OUT_OF_BOUNDS))
        _, base = self.mem_cell(k)
        return b.gep(base, [b.zext(start, I64)], source_etype=I8)

    def op_load(self, ins):
        nbytes, lt, rt, signed = _LOADS[ins[0]]
        addr = self.pop()
        p = self.effective(ins[3], addr, ins[2], nbytes)
        v = self.b.load(p, typ=lt, align=1)
        v.set_metadata("tbaa", self.mt.tbaa_mem)
        if signed is True:
            v = self.b.sext(v, rt)
        elif signed is False:
            v = self.b.zext(v, rt)
        self.push(v)

    def op_store(self, ins):
        nbytes, narrow = _STORES[ins[0]]
        v = self.pop()
        addr = self.pop()
        p = self.effective(ins[3], addr, ins[2], nbytes)
        if narrow is not None:
            v = self.b.trunc(v, narrow)
        st = self.b.store(v, p, align=1)
        st.set_metadata("tbaa", self.mt.tbaa_mem)

    def op_memory_size(self, ins):
        self.push(self.b.trunc(self.b.lshr(self.mem_size(ins[1]), ir.Constant(I64, 16)), I32))

    def op_memory_grow(self, ins):
        delta = self.pop()
        r = self.b.trunc(self.rt(L.RT_MEMORY_GROW, ins[1], delta), I32)
        self.fuel_variable(delta, self.b.icmp_unsigned("!=", r, ir.Constant(I32, 0xFFFFFFFF)))
        self.push(r)

    def op_memory_fill(self, ins):
        n, val, d = self.pop(), self.pop(), self.pop()
        p = self.range_check(ins[1], d, n)
        self.b.call(self.mt.intrinsic("llvm.memset", [PTR, I64]),
                    [p, self.b.trunc(val, I8), self.b.zext(n, I64), ir.Constant(I1, 0)])
        self.fuel_variable(n)

    def op_memory_copy(self, ins):
        n, s, d = self.pop(), self.pop(), self.pop()
        ps = self.range_check(ins[2], s, n)
        pd = self.range_check(ins[1], d, n)
        self.b.call(self.mt.intrinsic("llvm.memmove", [PTR, PTR, I64]),
                    [pd, ps, self.b.zext(n, I64), ir.Constant(I1, 0)])
        self.fuel_variable(n)

    def op_memory_init(self, ins):
        n, s, d = self.pop(), self.pop(), self.pop()
        self.rt(L.RT_MEMORY_INIT, ins[2] << 32 | ins[1], d, s, n)
        self.fuel_variable(n)

    def op_data_drop(self, ins):
        self.rt(L.RT_DATA_DROP, ins[1])


HANDLERS = dict.fromkeys(_LOADS, MemoryOps.op_load)
HANDLERS.update(dict.fromkeys(_STORES, MemoryOps.op_store))
HANDLERS.update({
    op.MEMORY_SIZE: MemoryOps.op_memory_size, op.MEMORY_GROW: MemoryOps.op_memory_grow,
    op.MEMORY_FILL: MemoryOps.op_memory_fill, op.MEMORY_COPY: MemoryOps.op_memory_copy,
    op.MEMORY_INIT: MemoryOps.op_memory_init, op.DATA_DROP: MemoryOps.op_data_drop,
})
