"""One wasm function body -> LLVM IR (spec "Instructions"; docs/jit_llvm.md): the
FunctionTranslator keeps the operand stack as LLVM values and the control stack as Frames,
emits the entry (stack-overflow check, depth counter), structured control flow with phis,
calls (direct, imported, call_indirect with its signature check), variables, references and
tables, and the trap protocol (a trap stores its status, records the frame and returns; after
every call the trap slot is checked). Numeric instructions come from `_numeric`, memory from
`_memory`, fuel and epoch checks from `_metering`, SIMD from `_simd`.
"""

from __future__ import annotations

from llvmlite import ir

from wasmcore.errors import TrapCode, WasmcoreError
from wasmcore.syntax import opcodes as op
from wasmcore.syntax.types import BLOCKTYPE_EMPTY, ValueType
from wasmcore_jit_llvm import _layout as L
from wasmcore_jit_llvm import _memory, _numeric, _simd
from wasmcore_jit_llvm._ir import (I32, I64, LLTYPE, PTR, RT_TYPE, alloca, call_ptr, fn_type,
                                   ret_undef, ret_values, unpack, zero_value)
from wasmcore_jit_llvm._memory import MemoryOps
from wasmcore_jit_llvm._metering import FUEL_FREE, Metering
from wasmcore_jit_llvm._numeric import NumericOps


class Frame:
    """One entry of the control stack: a block, loop, if or the function itself."""

    __slots__ = ("kind", "params", "results", "height", "header", "end", "else_bb", "phis",
                 "incoming", "entry_params", "has_else")

    def __init__(self, kind, params, results, height):
        self.kind = kind
        self.params = params
        self.results = results
        self.height = height
        self.header = None
        self.end = None
        self.else_bb = None
        self.phis = []
        self.incoming = []  # (block, [values]) for the end block
        self.entry_params = []
        self.has_else = False

    @property
    def branch_types(self):
        return self.params if self.kind == "loop" else self.results


class FunctionTranslator(Metering, NumericOps, MemoryOps):
    """Translates one defined function j into f{j} (f{j}_body with fuel on), or into
    f{j}_resume (`resume`); `run()` emits the whole body."""

    def __init__(self, mt, j: int, function, resume=False):
        self.mt = mt
        self.resume = resume  # translating f{j}_resume: entered at one of its epoch checks
        self.n_checks = 0  # epoch checks so far that can continue in f{j}_resume
        self.layout = mt.layout
        self.j = j
        self.function = function
        self.ft = mt.func_types[j]
        self.body = mt.bodies.get(j)  # fuel on: the fuel comes in and goes out in registers
        self.fn = self.body or mt.functions[j]
        if resume:
            self.fn = mt.resumes[j]
            self.body = self.fn if mt.fuel else None
        self.first_param = 2 if self.body else 1
        self.fn.attributes.add("nounwind")
        self.fuel, self.epochs = mt.fuel, mt.epochs
        self.fuel_p = None  # the function's fuel local (an alloca: mem2reg keeps it in a register)
        self.b = ir.IRBuilder(self.fn.append_basic_block("entry"))
        self.vmctx = self.fn.args[0]
        self.stack = []
        self.frames = []
        self.dead = False
        self.dead_depth = 0
        self.trap_blocks = {}
        self.propagate = None
        self._fuel_trap = None  # the phi of the fuel left, in the shared out-of-fuel trap block
        self._mem_cache = {}
        self._size_locals = {}  # memory index -> alloca holding its byte size
        self.after_calls = []  # the blocks that follow each call: memory sizes reload there
        self._global_cache = {}
        self.fconst = {}  # id(constant value) -> its float, for the identity-constant check
        self.keep = []  # keeps those constants alive so ids stay unique

    # --- helpers ---------------------------------------------------------------------------------
    def slot_ptr(self, slot):
        return self.b.gep(self.vmctx, [ir.Constant(I64, slot)], source_etype=I64)

    def load_slot(self, slot, typ=PTR):
        v = self.b.load(self.slot_ptr(slot), typ=typ)
        v.set_metadata("tbaa", self.mt.tbaa_ctx)
        v.set_metadata("invariant.load", self.mt.ir.add_metadata([]))
        return v

    def at_entry(self, fn):
        """Emit `fn()` in the entry block (values valid everywhere)."""
        saved = self.b.block
        self.b.position_before(self.entry_term)
        v = fn()
        self.b.position_at_end(saved)
        return v

    def trap_block(self, status):
        bb = self.trap_blocks.get(status)
        if bb is None:
            saved = self.b.block
            bb = self.trap_blocks[status] = self.fn.append_basic_block(f"trap{status}")
            self.b.position_at_end(bb)
            self.b.store(ir.Constant(I64, status), self.shared)
            self.record_frame()
            if self.body:  # the store sees the fuel left at the trap
                self.fuel_publish()
            self.ret_trapped(self.b.load(self.fuel_p, typ=I64) if self.body else None)
            self.b.position_at_end(saved)
        return bb

    def ret_trapped(self, fuel):
        """Unwind: the results are undefined; a body also returns the fuel left. The depth
        is restored on the way out too (the entry trampoline would reset it anyway): then a
        call inlined into a loop keeps no depth store for its trap paths' sake."""
        st = self.b.store(self.depth, self.depth_p)
        st.set_metadata("tbaa", self.mt.tbaa_ctx)
        if self.body is None:
            ret_undef(self.b, self.ft)
            return
        rt = self.body.function_type.return_type
        self.b.ret(self.b.insert_value(ir.Constant(rt, ir.Undefined), fuel, 0))

    def trap_if(self, cond, status):
        cont = self.fn.append_basic_block()
        br = self.b.cbranch(cond, self.trap_block(status), cont)
        br.set_metadata("prof", self.mt.cold)
        self.b.position_at_end(cont)

    def trap(self, status):
        self.b.branch(self.trap_block(status))
        self.set_dead()

    def check_trap(self):
        """After a call: propagate a trap set by the callee (one shared block per function)."""
        v = self.b.load(self.shared, typ=I64)
        v.set_metadata("tbaa", self.mt.tbaa_ctx)
        if self.propagate is None:
            saved = self.b.block
            self.propagate = self.fn.append_basic_block("propagate")
            self.b.position_at_end(self.propagate)
            self.record_frame()
            # What trapped (a callee, the runtime) published the fuel left.
            self.ret_trapped(self.fuel_slot_load() if self.body else None)
            self.b.position_at_end(saved)
        cont = self.fn.append_basic_block()
        br = self.b.cbranch(self.b.icmp_unsigned("!=", v, ir.Constant(I64, 0)), self.propagate, cont)
        br.set_metadata("prof", self.mt.cold)
        self.b.position_at_end(cont)
        self.after_calls.append(cont)
        for k, p in self._size_locals.items():
            self._reload_size(self.mem_cell(k)[0], p)

    def record_frame(self):
        """Trap path: append {vmctx, index} to the backtrace buffer (if not full)."""
        b = self.b
        count_p = b.gep(self.shared, [ir.Constant(I64, L.SH_BT_COUNT)], source_etype=I64)
        n = b.load(count_p, typ=I64)
        n.set_metadata("tbaa", self.mt.tbaa_ctx)
        with b.if_then(b.icmp_unsigned("<", n, ir.Constant(I64, L.BT_CAP))):
            buf = b.load(b.gep(self.shared, [ir.Constant(I64, L.SH_BT_BUF)], source_etype=I64),
                         typ=PTR)
            buf.set_metadata("tbaa", self.mt.tbaa_ctx)
            at = b.gep(buf, [b.mul(n, ir.Constant(I64, 2))], source_etype=I64)
            b.store(b.ptrtoint(self.vmctx, I64), at).set_metadata("tbaa", self.mt.tbaa_bt)
            b.store(ir.Constant(I64, self.j),
                    b.gep(at, [ir.Constant(I64, 1)], source_etype=I64)).set_metadata("tbaa", self.mt.tbaa_bt)
            b.store(b.add(n, ir.Constant(I64, 1)), count_p).set_metadata("tbaa", self.mt.tbaa_ctx)

    def set_dead(self):
        self.dead = True
        self.dead_depth = 0

    def pop(self, n=None):
        if n is None:
            return self.stack.pop()
        if n == 0:
            return []
        vals = self.stack[-n:]
        del self.stack[-n:]
        return vals

    def push(self, v):
        self.stack.append(v)

    def block_sig(self, bt):
        if bt == BLOCKTYPE_EMPTY:
            return (), ()
        if bt < 0:
            return (), (ValueType(bt & 0x7F),)
        ft = self.mt.module.types[bt]
        return tuple(ft.params), tuple(ft.results)

    def global_cell(self, k):
        cell = self._global_cache.get(k)
        if cell is None:
            cell = self._global_cache[k] = self.at_entry(lambda: self.load_slot(self.layout.global_(k)))
        return cell

    def rt(self, opcode, *args):
        b = self.b
        fn = self.at_entry(lambda: self.load_slot(L.VMLayout.RT))
        full = [self.vmctx, ir.Constant(I32, opcode)]
        for a in args:
            if isinstance(a, int):
                a = ir.Constant(I64, a)
            elif a.type == I32:
                a = b.zext(a, I64)
            full.append(a)
        while len(full) < 6:
            full.append(ir.Constant(I64, 0))
        self.fuel_publish()  # the runtime may trap or run Python that reads the fuel
        r = call_ptr(b, fn, RT_TYPE, full)
        self.check_trap()
        return r


    # --- the function ----------------------------------------------------------------------------
    def run(self):
        b = self.b
        ft = self.ft
        self.locals = []
        types = list(ft.params) + list(self.function.locals)
        for i, vt in enumerate(types):
            a = alloca(b, LLTYPE[vt], f"l{i}")
            self.locals.append((a, LLTYPE[vt]))
        if self.resume:  # every local comes in, after the fuel and the check's number
            for i, (a, _) in enumerate(self.locals):
                b.store(self.fn.args[2 + self.fuel + i], a)
        else:
            for i, vt in enumerate(ft.params):
                b.store(self.fn.args[self.first_param + i], self.locals[i][0])
            for i, vt in enumerate(self.function.locals):
                b.store(zero_value(vt), self.locals[len(ft.params) + i][0])
        self.shared = self.load_slot(L.VMLayout.SHARED)
        if self.fuel:  # set before the first trap block: a trap publishes it
            self.fuel_p = alloca(b, I64, "fuel")
            b.store(self.fn.args[1] if self.body else self.fuel_slot_load(), self.fuel_p)
        depth_p = b.gep(self.shared, [ir.Constant(I64, L.SH_DEPTH)], source_etype=I64)
        depth = b.load(depth_p, typ=I64)  # calls left before STACK_OVERFLOW
        if self.resume:
            self.resume_entry(depth, depth_p)
        else:
            self.enter(depth, depth_p)
        top = Frame("func", (), tuple(ft.results), 0)
        top.end = self.fn.append_basic_block("return")
        self.frames.append(top)
        for ins in self.function.body:
            self.step(ins)

    def enter(self, depth, depth_p):
        """The entry of f{j} (or f{j}_body): stack overflow check, depth, fuel and epochs."""
        b = self.b
        stack_limit = b.load(b.gep(self.shared, [ir.Constant(I64, L.SH_STACK_LIMIT)],
                                   source_etype=I64), typ=I64)
        for v in (depth, stack_limit):
            v.set_metadata("tbaa", self.mt.tbaa_ctx)
        sp = self.mt.stack_pointer(b)
        over = b.or_(b.icmp_unsigned("==", depth, ir.Constant(I64, 0)),
                     b.icmp_unsigned("<", sp, stack_limit))
        self.depth, self.depth_p = depth, depth_p
        # Code runs only while no trap is pending: knowing it lets LLVM drop the trap check
        # after a call it inlined (whose own trap paths return).
        pending = b.load(self.shared, typ=I64)
        pending.set_metadata("tbaa", self.mt.tbaa_ctx)
        b.assume(b.icmp_unsigned("==", pending, ir.Constant(I64, 0)))
        body = self.fn.append_basic_block("body")
        self.entry_term = b.cbranch(over, self.trap_block(L.status_of(TrapCode.STACK_OVERFLOW)), body)
        self.entry_term.set_metadata("prof", self.mt.cold)
        b.position_at_end(body)
        st = b.store(b.sub(depth, ir.Constant(I64, 1)), depth_p)
        st.set_metadata("tbaa", self.mt.tbaa_ctx)
        if self.fuel:  # Wasmtime charges 1 on entry, then checks
            self.charge(1)
            self.fuel_check()
        self.entry_epoch_check()

    def do_return_block(self, frame):
        """Position at the function's return block, build the result phis and return."""
        b = self.b
        b.position_at_end(frame.end)
        values = self.phis_for(frame)
        st = b.store(self.depth, self.depth_p)
        st.set_metadata("tbaa", self.mt.tbaa_ctx)
        if self.body:
            rt = self.body.function_type.return_type
            st = b.insert_value(ir.Constant(rt, ir.Undefined), b.load(self.fuel_p, typ=I64), 0)
            for i, v in enumerate(values or ()):
                st = b.insert_value(st, v, 1 + i)
            b.ret(st)
            return
        self.fuel_publish()
        ret_values(b, self.ft, values)

    def phis_for(self, frame):
        if not frame.incoming:
            return None
        values = []
        for i, vt in enumerate(frame.results):
            if len(frame.incoming) == 1:
                values.append(frame.incoming[0][1][i])
                continue
            phi = self.b.phi(LLTYPE[vt])
            for bb, vals in frame.incoming:
                phi.add_incoming(vals[i], bb)
            values.append(phi)
        return values

    def branch_to(self, depth):
        frame = self.frames[-1 - depth]
        if frame.kind == "loop":
            vals = self.stack[len(self.stack) - len(frame.params):] if frame.params else []
            self.fuel_check()  # the loop's check, on its back-edge (see op_loop)
            for phi, v in zip(frame.phis, vals):
                phi.add_incoming(v, self.b.block)
            self.b.branch(frame.header)
        else:
            n = len(frame.results)
            vals = self.stack[len(self.stack) - n:] if n else []
            frame.incoming.append((self.b.block, list(vals)))
            self.b.branch(frame.end)

    # --- instructions ------------------------------------------------------------------------------
    # --- instructions ------------------------------------------------------------------------------
    def step(self, ins):
        code = ins[0]
        if self.dead:
            if code in (op.BLOCK, op.LOOP, op.IF):
                self.dead_depth += 1
                return
            if code == op.END:
                if self.dead_depth:
                    self.dead_depth -= 1
                    return
                self.op_end()
                return
            if code == op.ELSE:
                if self.dead_depth:
                    return
                self.op_else()
            return
        if self.fuel and code not in FUEL_FREE:
            self.charge(1)  # charges within a block fold into one subtraction
        handler = _DISPATCH.get(code)
        if handler is not None:
            handler(self, ins)
        elif not (code >> 16 == op.SIMD_PREFIX and _simd.translate(self, ins)):
            self.unsupported(code)

    def unsupported(self, code):
        # Engine refuses modules needing features this backend lacks, so this is a backend gap:
        # report it while compiling, never as a trap at run time.
        raise WasmcoreError(f"the llvm backend cannot compile instruction "
                           f"{op.NAMES.get(code, hex(code))}")

    # control
    def op_unreachable(self, ins):
        self.trap(L.status_of(TrapCode.UNREACHABLE))

    def op_nop(self, ins):
        pass

    def op_block(self, ins):
        params, results = self.block_sig(ins[1])
        f = Frame("block", params, results, len(self.stack) - len(params))
        f.end = self.fn.append_basic_block("block_end")
        self.frames.append(f)

    def op_loop(self, ins):
        params, results = self.block_sig(ins[1])
        f = Frame("loop", params, results, len(self.stack) - len(params))
        f.header = self.fn.append_basic_block("loop")
        f.end = self.fn.append_basic_block("loop_end")
        vals = self.pop(len(params))
        # Wasmtime checks fuel at each loop header; checking on every edge into the header
        # instead sees the same fuel at the same points, but leaves the header free of the
        # refill call's join, so LLVM can rotate the loop and keep its values in registers.
        self.fuel_check()
        pre = self.b.block
        self.b.branch(f.header)
        self.b.position_at_end(f.header)
        for vt, v in zip(params, vals):
            phi = self.b.phi(LLTYPE[vt])
            phi.add_incoming(v, pre)
            f.phis.append(phi)
            self.push(phi)
        self.loop_epoch_check(ins)
        self.frames.append(f)

    def op_if(self, ins):
        params, results = self.block_sig(ins[1])
        cond = self.pop()
        f = Frame("if", params, results, len(self.stack) - len(params))
        f.end = self.fn.append_basic_block("if_end")
        f.else_bb = self.fn.append_basic_block("else")
        then = self.fn.append_basic_block("then")
        f.entry_params = self.stack[len(self.stack) - len(params):] if params else []
        self.b.cbranch(self.b.icmp_unsigned("!=", cond, ir.Constant(I32, 0)), then, f.else_bb)
        self.b.position_at_end(then)
        self.frames.append(f)

    def op_else(self, ins=None):
        f = self.frames[-1]
        if not self.dead:
            n = len(f.results)
            f.incoming.append((self.b.block, self.stack[len(self.stack) - n:] if n else []))
            self.b.branch(f.end)
        del self.stack[f.height:]
        self.stack.extend(f.entry_params)
        f.has_else = True
        self.dead = False
        self.b.position_at_end(f.else_bb)

    def op_end(self, ins=None):
        f = self.frames.pop()
        if not self.dead:
            n = len(f.results)
            f.incoming.append((self.b.block, self.stack[len(self.stack) - n:] if n else []))
            self.b.branch(f.end)
        if f.kind == "if" and not f.has_else:
            self.b.position_at_end(f.else_bb)
            f.incoming.append((f.else_bb, list(f.entry_params)))
            self.b.branch(f.end)
        del self.stack[f.height:]
        if f.kind == "func":
            if f.incoming:
                self.do_return_block(f)
            else:
                self.b.position_at_end(f.end)
                self.b.unreachable()
            return
        self.b.position_at_end(f.end)
        if not f.incoming:
            self.b.unreachable()
            self.set_dead()
            return
        self.dead = False
        self.stack.extend(self.phis_for(f))

    def op_br(self, ins):
        self.branch_to(ins[1])
        self.set_dead()

    def op_br_if(self, ins):
        cond = self.pop()
        cont = self.fn.append_basic_block()
        edge = self.fn.append_basic_block()
        self.b.cbranch(self.b.icmp_unsigned("!=", cond, ir.Constant(I32, 0)), edge, cont)
        self.b.position_at_end(edge)
        self.branch_to(ins[1])
        self.b.position_at_end(cont)

    def op_br_table(self, ins):
        targets, default = ins[1], ins[2]
        index = self.pop()
        edges = {}
        order = list(targets) + [default]
        for t in order:
            if t not in edges:
                edges[t] = self.fn.append_basic_block(f"br{t}")
        sw = self.b.switch(index, edges[default])
        for i, t in enumerate(targets):
            sw.add_case(ir.Constant(I32, i), edges[t])
        for t, bb in edges.items():
            self.b.position_at_end(bb)
            self.branch_to(t)
        self.set_dead()

    def op_return(self, ins):
        self.branch_to(len(self.frames) - 1)
        self.set_dead()

    def op_call(self, ins):
        j = ins[1]
        ft = self.mt.func_types[j]
        args = self.pop(len(ft.params))
        if j < self.mt.n_imports:
            code = self.load_slot(self.layout.import_code(j))
            callee = self.load_slot(self.layout.import_vmctx(j))
            self.fuel_publish()
            r = call_ptr(self.b, code, fn_type(ft), [callee] + args)
        elif j in self.mt.bodies:  # the fuel goes in and comes back in registers
            b = self.b
            r = b.call(self.mt.bodies[j], [self.vmctx, b.load(self.fuel_p, typ=I64)] + args)
            b.store(b.extract_value(r, 0), self.fuel_p)
            self.check_trap()
            self.stack.extend(b.extract_value(r, 1 + i) for i in range(len(ft.results)))
            return
        else:
            self.fuel_publish()
            r = self.b.call(self.mt.functions[j], [self.vmctx] + args)
        self.check_trap()
        self.fuel_reload()
        self.stack.extend(unpack(self.b, r, ft))

    def op_call_indirect(self, ins):
        typeidx, t = ins[1], ins[2]
        ft = self.mt.module.types[typeidx]
        b = self.b
        index = self.pop()
        args = self.pop(len(ft.params))
        desc = self.at_entry(lambda: self.load_slot(self.layout.table(t)))
        size = b.load(b.gep(desc, [ir.Constant(I64, L.TD_SIZE)], source_etype=I64), typ=I64)
        size.set_metadata("tbaa", self.mt.tbaa_ctx)
        i64 = b.zext(index, I64)
        self.trap_if(b.icmp_unsigned(">=", i64, size), L.status_of(TrapCode.TABLE_OUT_OF_BOUNDS))
        entries = b.load(desc, typ=PTR)
        entries.set_metadata("tbaa", self.mt.tbaa_ctx)
        entry = b.gep(entries, [b.mul(i64, ir.Constant(I64, L.ENTRY_SLOTS))], source_etype=I64)
        tid = b.load(b.gep(entry, [ir.Constant(I64, 1)], source_etype=I64), typ=I64)
        tid.set_metadata("tbaa", self.mt.tbaa_ctx)
        expected = self.at_entry(lambda: self.load_slot(self.layout.type_id(typeidx), I64))
        mismatch = b.icmp_unsigned("!=", tid, expected)
        ok = self.fn.append_basic_block()
        bad = self.fn.append_basic_block()
        br = b.cbranch(mismatch, bad, ok)
        br.set_metadata("prof", self.mt.cold)
        b.position_at_end(bad)
        b.cbranch(b.icmp_unsigned("==", tid, ir.Constant(I64, 0)),
                  self.trap_block(L.status_of(TrapCode.INDIRECT_CALL_TO_NULL)),
                  self.trap_block(L.status_of(TrapCode.BAD_SIGNATURE)))
        b.position_at_end(ok)
        code = b.load(entry, typ=PTR)
        callee = b.load(b.gep(entry, [ir.Constant(I64, 2)], source_etype=I64), typ=PTR)
        code.set_metadata("tbaa", self.mt.tbaa_ctx)
        callee.set_metadata("tbaa", self.mt.tbaa_ctx)
        self.fuel_publish()
        r = call_ptr(b, code, fn_type(ft), [callee] + args)
        self.check_trap()
        self.fuel_reload()
        self.stack.extend(unpack(b, r, ft))

    # parametric / variables
    def op_drop(self, ins):
        self.pop()

    def op_select(self, ins):
        c, v2, v1 = self.pop(), self.pop(), self.pop()
        self.push(self.b.select(self.b.icmp_unsigned("!=", c, ir.Constant(I32, 0)), v1, v2))

    def op_local_get(self, ins):
        a, t = self.locals[ins[1]]
        self.push(self.b.load(a, typ=t))

    def op_local_set(self, ins):
        self.b.store(self.pop(), self.locals[ins[1]][0])

    def op_local_tee(self, ins):
        self.b.store(self.stack[-1], self.locals[ins[1]][0])

    def op_global_get(self, ins):
        k = ins[1]
        vt = self.mt.global_types[k].value_type
        if vt in (ValueType.FUNCREF, ValueType.EXTERNREF):
            self.push(self.rt(L.RT_GLOBAL_GET_REF, k))
            return
        v = self.b.load(self.global_cell(k), typ=LLTYPE[vt], align=8)  # v128 cells: 8-aligned
        v.set_metadata("tbaa", self.mt.tbaa_glob)
        self.push(v)

    def op_global_set(self, ins):
        k = ins[1]
        vt = self.mt.global_types[k].value_type
        v = self.pop()
        if vt in (ValueType.FUNCREF, ValueType.EXTERNREF):
            self.rt(L.RT_GLOBAL_SET_REF, k, v)
            return
        st = self.b.store(v, self.global_cell(k), align=8)
        st.set_metadata("tbaa", self.mt.tbaa_glob)

    # references and tables
    def op_ref_null(self, ins):
        self.push(ir.Constant(I64, 0))

    def op_ref_is_null(self, ins):
        a = self.pop()
        self.push(self.b.zext(self.b.icmp_unsigned("==", a, ir.Constant(I64, 0)), I32))

    def op_ref_func(self, ins):
        self.push(self.rt(L.RT_REF_FUNC, ins[1]))

    def op_table_get(self, ins):
        i = self.pop()
        self.push(self.rt(L.RT_TABLE_GET, ins[1], i))

    def op_table_set(self, ins):
        v, i = self.pop(), self.pop()
        self.rt(L.RT_TABLE_SET, ins[1], i, v)

    def op_table_size(self, ins):
        self.push(self.b.trunc(self.rt(L.RT_TABLE_SIZE, ins[1]), I32))

    def op_table_grow(self, ins):
        n, init = self.pop(), self.pop()
        r = self.b.trunc(self.rt(L.RT_TABLE_GROW, ins[1], init, n), I32)
        self.fuel_variable(n, self.b.icmp_unsigned("!=", r, ir.Constant(I32, 0xFFFFFFFF)))
        self.push(r)

    def op_table_fill(self, ins):
        n, v, i = self.pop(), self.pop(), self.pop()
        self.rt(L.RT_TABLE_FILL, ins[1], i, v, n)
        self.fuel_variable(n)

    def op_table_copy(self, ins):
        n, s, d = self.pop(), self.pop(), self.pop()
        self.rt(L.RT_TABLE_COPY, ins[1] << 32 | ins[2], d, s, n)
        self.fuel_variable(n)

    def op_table_init(self, ins):
        n, s, d = self.pop(), self.pop(), self.pop()
        self.rt(L.RT_TABLE_INIT, ins[2] << 32 | ins[1], d, s, n)
        self.fuel_variable(n)

    def op_elem_drop(self, ins):
        self.rt(L.RT_ELEM_DROP, ins[1])



_DISPATCH = {
    op.UNREACHABLE: FunctionTranslator.op_unreachable, op.NOP: FunctionTranslator.op_nop,
    op.BLOCK: FunctionTranslator.op_block, op.LOOP: FunctionTranslator.op_loop,
    op.IF: FunctionTranslator.op_if, op.ELSE: FunctionTranslator.op_else,
    op.END: FunctionTranslator.op_end, op.BR: FunctionTranslator.op_br,
    op.BR_IF: FunctionTranslator.op_br_if, op.BR_TABLE: FunctionTranslator.op_br_table,
    op.RETURN: FunctionTranslator.op_return, op.CALL: FunctionTranslator.op_call,
    op.CALL_INDIRECT: FunctionTranslator.op_call_indirect, op.DROP: FunctionTranslator.op_drop,
    op.SELECT: FunctionTranslator.op_select, op.SELECT_T: FunctionTranslator.op_select,
    op.LOCAL_GET: FunctionTranslator.op_local_get, op.LOCAL_SET: FunctionTranslator.op_local_set,
    op.LOCAL_TEE: FunctionTranslator.op_local_tee, op.GLOBAL_GET: FunctionTranslator.op_global_get,
    op.GLOBAL_SET: FunctionTranslator.op_global_set,
    op.REF_NULL: FunctionTranslator.op_ref_null, op.REF_IS_NULL: FunctionTranslator.op_ref_is_null,
    op.REF_FUNC: FunctionTranslator.op_ref_func, op.TABLE_GET: FunctionTranslator.op_table_get,
    op.TABLE_SET: FunctionTranslator.op_table_set, op.TABLE_SIZE: FunctionTranslator.op_table_size,
    op.TABLE_GROW: FunctionTranslator.op_table_grow, op.TABLE_FILL: FunctionTranslator.op_table_fill,
    op.TABLE_COPY: FunctionTranslator.op_table_copy, op.TABLE_INIT: FunctionTranslator.op_table_init,
    op.ELEM_DROP: FunctionTranslator.op_elem_drop,
}
for _handlers in (_numeric.HANDLERS, _memory.HANDLERS):
    _overlap = _DISPATCH.keys() & _handlers.keys()
    if _overlap:  # pragma: no cover - guards the tables against a second handler
        raise AssertionError(f"llvm: two handlers for {sorted(op.NAMES[c] for c in _overlap)}")
    _DISPATCH.update(_handlers)
