"""Wasm function bodies -> LLVM IR (one LLVM module per wasm module).

Every wasm function `f<j>` becomes `ret f<j>(ptr vmctx, params...)` (several results: a
struct). Everything the code needs is reached through vmctx (see _layout.py); no address of
this process is baked into the IR. A trap stores its status into the shared state's trap slot
and returns; every call site checks the slot and returns too (no unwinding).
"""

from __future__ import annotations

import struct

from llvmlite import ir

from wasmcore.errors import TrapCode
from wasmcore.syntax import opcodes as op
from wasmcore.syntax.types import BLOCKTYPE_EMPTY, ExternKind, ValueType
from wasmcore_jit_llvm import _layout as L
from wasmcore_jit_llvm._liveness import call_checked_loops, epoch_checked_entries, live_locals
from wasmcore_jit_llvm import _simd

I1, I8, I16, I32, I64 = (ir.IntType(n) for n in (1, 8, 16, 32, 64))
F32, F64 = ir.FloatType(), ir.DoubleType()
PTR = ir.PointerType()
VOID = ir.VoidType()

LLTYPE = {ValueType.I32: I32, ValueType.I64: I64, ValueType.F32: F32, ValueType.F64: F64,
          ValueType.FUNCREF: I64, ValueType.EXTERNREF: I64, ValueType.V128: _simd.I128}


RT_TYPE = ir.FunctionType(I64, [PTR, I32, I64, I64, I64, I64])
HOST_CALLBACK_TYPE = ir.FunctionType(I32, [PTR, PTR])


def sig_key(ft) -> str:
    code = {ValueType.I32: "i", ValueType.I64: "l", ValueType.F32: "f", ValueType.F64: "d",
            ValueType.FUNCREF: "r", ValueType.EXTERNREF: "x", ValueType.V128: "v"}
    return "".join(code[t] for t in ft.params) + "_" + "".join(code[t] for t in ft.results)


def ret_type(ft):
    if not ft.results:
        return VOID
    if len(ft.results) == 1:
        return LLTYPE[ft.results[0]]
    return ir.LiteralStructType([LLTYPE[t] for t in ft.results])


def fn_type(ft):
    return ir.FunctionType(ret_type(ft), [PTR] + [LLTYPE[t] for t in ft.params])


def body_type(ft):
    """With fuel on, a defined function's body takes the fuel left and returns it first:
    between direct calls it stays in registers instead of the shared slot."""
    return ir.FunctionType(ir.LiteralStructType([I64] + [LLTYPE[t] for t in ft.results]),
                           [PTR, I64] + [LLTYPE[t] for t in ft.params])


def _f32(bits: int):
    return ir.Constant(I32, bits).bitcast(F32)


def _f64(bits: int):
    return ir.Constant(I64, bits).bitcast(F64)


def _f32c(x: float):
    return _f32(struct.unpack("<I", struct.pack("<f", x))[0])


def _f64c(x: float):
    return _f64(struct.unpack("<Q", struct.pack("<d", x))[0])


_UNARY_FLOAT = ("llvm.fabs", "llvm.ceil", "llvm.floor", "llvm.trunc", "llvm.roundeven", "llvm.sqrt")


def _mangle(t):
    if t is PTR or isinstance(t, ir.PointerType):
        return "p0"
    return {I8: "i8", I16: "i16", I32: "i32", I64: "i64", F32: "f32", F64: "f64"}[t]


class Frame:
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


class ModuleTranslator:
    def stack_pointer(self, b):
        if self.sp_register:
            return b.call(self.read_register, [self.sp_name])
        return b.ptrtoint(b.call(self.frameaddress, [ir.Constant(I32, 0)]), I64)

    def __init__(self, module, name="wasm", sp_register=None, fuel=False, epochs=False):
        self.module = module
        self.fuel, self.epochs = fuel, epochs  # emit fuel / epoch code (config settings)
        self.layout = L.VMLayout(module)
        self.ir = ir.Module(name=name)
        self.ir.triple = ""
        n_imp = self.layout.n_func_imports
        self.func_types = [module.types[i.desc] for i in module.imports if i.kind == ExternKind.FUNC]
        self.func_types += [module.types[f.type_index] for f in module.functions]
        self.n_imports = n_imp
        self.global_types = [i.desc for i in module.imports if i.kind == ExternKind.GLOBAL]
        self.global_types += [g.type for g in module.globals]
        self.functions = {}  # j -> f{j}: the entry every table, export and import uses
        self.bodies = {}  # with fuel on, j -> f{j}_body (see body_type); f{j} wraps it
        for j in range(n_imp, len(self.func_types)):
            fn = ir.Function(self.ir, fn_type(self.func_types[j]), f"f{j}")
            self.functions[j] = fn
            if fuel:
                body = ir.Function(self.ir, body_type(self.func_types[j]), f"f{j}_body")
                body.linkage = "internal"
                self.bodies[j] = body
        # With epochs on, f{j}_resume is a second translation of function j that a check
        # which found the deadline reached continues in (see FunctionTranslator.epoch_check).
        self.resumes = {}
        # Only a function whose calls go past functions that make none has an entry check
        # (see _liveness); without loops either, it has no check at all and no f{j}_resume.
        self.entry_checked = epoch_checked_entries(module) if epochs else frozenset()
        for j in range(n_imp, len(self.func_types)) if epochs else ():
            if j not in self.entry_checked and not any(
                    ins[0] == op.LOOP for ins in module.functions[j - n_imp].body):
                continue
            ft = self.func_types[j]
            target = self.bodies.get(j) or self.functions[j]
            local_types = list(ft.params) + list(module.functions[j - n_imp].locals)
            fnty = ir.FunctionType(target.function_type.return_type,
                                   [PTR] + [I64] * fuel + [I32] + [LLTYPE[t] for t in local_types])
            resume = ir.Function(self.ir, fnty, f"f{j}_resume")
            resume.linkage = "internal"
            resume.attributes.add("noinline")
            resume.attributes.add("cold")
            self.resumes[j] = resume
        self.frameaddress = ir.Function(self.ir, ir.FunctionType(PTR, [I32]), "llvm.frameaddress.p0")
        # Reading the stack pointer register is cheaper than frameaddress (which forces a
        # frame pointer in every function); fall back to frameaddress on other targets.
        self.sp_register = sp_register
        if sp_register:
            self.read_register = ir.Function(self.ir, ir.FunctionType(I64, [ir.MetaDataType()]),
                                             "llvm.read_register.i64")
            self.sp_name = self.ir.add_metadata([ir.MetaDataString(self.ir, sp_register)])
        self._intrinsics = {}
        self._tbaa()
        self.signatures = {}  # sig_key -> FuncType, for which trampolines exist
        self.out_of_fuel = self._out_of_fuel_thunk() if fuel else None

    def _out_of_fuel_thunk(self):
        """i64 out_of_fuel(vmctx, fuel): the refill runtime call behind a calling convention
        that preserves every register. A fuel check's cold call then clobbers nothing the
        code around it holds: with the C convention, each value live across a check must sit
        in a callee-saved register, and even a leaf function pays for saving them on entry."""
        fn = ir.Function(self.ir, ir.FunctionType(I64, [PTR, I64]), "out_of_fuel")
        fn.linkage = "internal"
        if self.sp_register == "rsp":  # x86-64; elsewhere the C convention (still correct)
            fn.calling_convention = "preserve_allcc"
        for attribute in ("noinline", "cold", "nounwind"):
            fn.attributes.add(attribute)
        b = ir.IRBuilder(fn.append_basic_block("entry"))
        vmctx = fn.args[0]
        rt = b.load(b.gep(vmctx, [ir.Constant(I64, L.VMLayout.RT)], source_etype=I64), typ=PTR)
        rt.set_metadata("tbaa", self.tbaa_ctx)
        zero = ir.Constant(I64, 0)
        b.ret(_call_ptr(b, rt, RT_TYPE, [vmctx, ir.Constant(I32, L.RT_OUT_OF_FUEL), fn.args[1],
                                         zero, zero, zero]))
        return fn

    # --- metadata ----------------------------------------------------------------------------
    def _tbaa(self):
        m = self.ir
        root = m.add_metadata(["wasm tbaa"])
        mem = m.add_metadata(["linear memory", root, ir.Constant(I64, 0)])
        ctx = m.add_metadata(["vmctx", root, ir.Constant(I64, 0)])
        glob = m.add_metadata(["global", root, ir.Constant(I64, 0)])
        bt = m.add_metadata(["backtrace", root, ir.Constant(I64, 0)])
        self.tbaa_mem = m.add_metadata([mem, mem, ir.Constant(I64, 0)])
        self.tbaa_ctx = m.add_metadata([ctx, ctx, ir.Constant(I64, 0)])
        self.tbaa_glob = m.add_metadata([glob, glob, ir.Constant(I64, 0)])
        # The backtrace buffer: its stores on trap paths must not hide the trap status
        # stored just before them, or every inlined call keeps its trap check.
        self.tbaa_bt = m.add_metadata([bt, bt, ir.Constant(I64, 0)])
        self.cold = m.add_metadata(["branch_weights", ir.Constant(I32, 1), ir.Constant(I32, 2000)])

    def intrinsic(self, name, types):
        """Declare an overloaded intrinsic with its exact signature (llvmlite's table has
        some wrong, e.g. cttz without its i1 operand)."""
        key = (name, tuple(str(t) for t in types))
        fn = self._intrinsics.get(key)
        if fn is None:
            t = types[0]
            suffix = ".".join(_mangle(x) for x in types)
            if name in ("llvm.ctlz", "llvm.cttz"):
                fnty = ir.FunctionType(t, [t, I1])
            elif name == "llvm.ctpop" or name in _UNARY_FLOAT:
                fnty = ir.FunctionType(t, [t])
            elif name in ("llvm.fshl", "llvm.fshr"):
                fnty = ir.FunctionType(t, [t, t, t])
            elif name == "llvm.copysign":
                fnty = ir.FunctionType(t, [t, t])
            elif name == "llvm.memset":
                fnty = ir.FunctionType(VOID, [PTR, I8, types[1], I1])
            elif name == "llvm.memmove":
                fnty = ir.FunctionType(VOID, [PTR, PTR, types[2], I1])
            else:
                raise KeyError(name)
            fn = self._intrinsics[key] = ir.Function(self.ir, fnty, f"{name}.{suffix}")
        return fn

    def intrinsic_typed(self, name, fnty):
        fn = self._intrinsics.get(name)
        if fn is None:
            fn = self._intrinsics[name] = ir.Function(self.ir, fnty, name)
        return fn

    # --- whole module --------------------------------------------------------------------------
    def translate(self):
        for offset, function in enumerate(self.module.functions):
            j = self.n_imports + offset
            FunctionTranslator(self, j, function).run()
            if j in self.resumes:
                FunctionTranslator(self, j, function, resume=True).run()
        for j, body in self.bodies.items():
            self._fuel_wrapper(j, body)
        for ft in self.module.types:
            self.signatures.setdefault(sig_key(ft), ft)
        for key, ft in self.signatures.items():
            self._entry_trampoline(key, ft)
            self._host_trampoline(key, ft)
        return self.ir

    def _fuel_wrapper(self, j, body):
        """f{j} with fuel on: the body with the fuel of the shared slot, stored back after."""
        fn = self.functions[j]
        fn.attributes.add("nounwind")
        ft = self.func_types[j]
        b = ir.IRBuilder(fn.append_basic_block("entry"))
        shared = b.load(fn.args[0], typ=PTR)
        shared.set_metadata("tbaa", self.tbaa_ctx)
        slot = b.gep(shared, [ir.Constant(I64, L.SH_FUEL)], source_etype=I64)
        fuel = b.load(slot, typ=I64)
        fuel.set_metadata("tbaa", self.tbaa_ctx)
        r = b.call(body, [fn.args[0], fuel] + list(fn.args[1:]))
        b.store(b.extract_value(r, 0), slot).set_metadata("tbaa", self.tbaa_ctx)
        _ret_values(b, ft, [b.extract_value(r, 1 + i) for i in range(len(ft.results))])

    def _entry_trampoline(self, key, ft):
        """i32 entry_<sig>(ptr block): the Python -> wasm call; block = {vmctx, code,
        args_and_results...} (one pointer argument: the cheapest ctypes call)."""
        fn = ir.Function(self.ir, ir.FunctionType(I32, [PTR]), f"entry_{key}")
        block = fn.args[0]
        b = ir.IRBuilder(fn.append_basic_block("entry"))
        vmctx = b.load(block, typ=PTR)
        target = b.load(b.gep(block, [ir.Constant(I64, 1)], source_etype=I64), typ=PTR)
        argv = b.gep(block, [ir.Constant(I64, 2)], source_etype=I64)
        shared = b.load(vmctx, typ=PTR)
        depth_p = b.gep(shared, [ir.Constant(I64, L.SH_DEPTH)], source_etype=I64)
        depth = b.load(depth_p, typ=I64)
        limit = b.load(b.gep(shared, [ir.Constant(I64, L.SH_DEPTH_LIMIT)], source_etype=I64), typ=I64)
        with b.if_then(b.icmp_unsigned("==", depth, limit)):  # the outermost entry
            sp = self.stack_pointer(b)
            budget = b.load(b.gep(shared, [ir.Constant(I64, L.SH_STACK_BUDGET)], source_etype=I64),
                            typ=I64)
            limit = b.sub(sp, budget)
            b.store(limit, b.gep(shared, [ir.Constant(I64, L.SH_STACK_LIMIT)], source_etype=I64))
        args = [vmctx]
        for i, vt in zip(_simd.slots(ft.params), ft.params):  # a v128 takes two slots
            raw = b.load(b.gep(argv, [ir.Constant(I64, i)], source_etype=I64), typ=_slot_type(vt),
                         align=8)
            args.append(from_bits(b, raw, vt))
        result = _call_ptr(b, target, fn_type(ft), args)
        trap_p = shared
        status = b.load(trap_p, typ=I64)
        with b.if_then(b.icmp_unsigned("!=", status, ir.Constant(I64, 0))):
            b.store(ir.Constant(I64, 0), trap_p)
            b.store(depth, depth_p)
            b.ret(b.trunc(status, I32))
        values = _unpack(b, result, ft)
        for i, vt, v in zip(_simd.slots(ft.results), ft.results, values):
            b.store(to_bits(b, v, vt), b.gep(argv, [ir.Constant(I64, i)], source_etype=I64),
                    align=8)
        b.ret(ir.Constant(I32, 0))

    def _host_trampoline(self, key, ft):
        """ret host_<sig>(ptr record, params...): wasm -> Python, through the record's
        array-style callback `i32 cb(ptr record, ptr args_and_results)`."""
        fn = ir.Function(self.ir, fn_type(ft), f"host_{key}")
        record = fn.args[0]
        b = ir.IRBuilder(fn.append_basic_block("entry"))
        n = max(_simd.n_slots(ft.params), _simd.n_slots(ft.results), 1)
        arr = _alloca(b, ir.ArrayType(I64, n))
        for i, vt, v in zip(_simd.slots(ft.params), ft.params, fn.args[1:]):
            b.store(to_bits(b, v, vt), b.gep(arr, [ir.Constant(I64, 0), ir.Constant(I64, i)],
                                             source_etype=ir.ArrayType(I64, n)), align=8)
        cb = b.load(b.gep(record, [ir.Constant(I64, L.HR_CALLBACK)], source_etype=I64), typ=PTR)
        status = _call_ptr(b, cb, HOST_CALLBACK_TYPE, [record, arr])
        with b.if_then(b.icmp_unsigned("!=", status, ir.Constant(I32, 0)), likely=False):
            shared = b.load(record, typ=PTR)
            b.store(b.zext(status, I64), shared)
            _ret_undef(b, ft)
        values = []
        for i, vt in zip(_simd.slots(ft.results), ft.results):
            raw = b.load(b.gep(arr, [ir.Constant(I64, 0), ir.Constant(I64, i)],
                               source_etype=ir.ArrayType(I64, n)), typ=_slot_type(vt), align=8)
            values.append(from_bits(b, raw, vt))
        _ret_values(b, ft, values)


class _OutOfFuelCallAttributes(ir.instructions.CallInstrAttributes):
    """llvmlite knows only a few call attributes; "inaccessiblemem" stands for LLVM's
    memory(inaccessiblemem: readwrite): the callee touches no memory this module can see."""
    _known = ir.instructions.CallInstrAttributes._known | {"inaccessiblemem"}

    def _expand(self, name, typ):
        return "memory(inaccessiblemem: readwrite)" if name == "inaccessiblemem" else name


def _alloca(b, typ, name=""):
    a = b.alloca(typ, name=name)
    a.type = PTR  # opaque pointers only: LLVM no longer parses typed ones
    return a


def _call_ptr(b, target, fnty, args):
    """An indirect call through the opaque pointer `target` with function type `fnty`."""
    return b.call(_FnPtr(target, fnty), args)


class _FnPtr:
    """Adapts an opaque pointer value so IRBuilder.call sees its function type."""

    def __init__(self, value, fnty):
        self._value = value
        self.function_type = fnty
        self.type = PTR

    def get_reference(self):
        return self._value.get_reference()

    def __getattr__(self, name):
        return getattr(self._value, name)


def _slot_type(vt):
    return _simd.I128 if vt == ValueType.V128 else I64


def from_bits(b, raw, vt):
    if vt == ValueType.I32:
        return b.trunc(raw, I32)
    if vt == ValueType.F32:
        return b.bitcast(b.trunc(raw, I32), F32)
    if vt == ValueType.F64:
        return b.bitcast(raw, F64)
    return raw


def to_bits(b, v, vt):
    if vt == ValueType.I32:
        return b.zext(v, I64)
    if vt == ValueType.F32:
        return b.zext(b.bitcast(v, I32), I64)
    if vt == ValueType.F64:
        return b.bitcast(v, I64)
    return v


def _unpack(b, result, ft):
    if not ft.results:
        return []
    if len(ft.results) == 1:
        return [result]
    return [b.extract_value(result, i) for i in range(len(ft.results))]


def _ret_values(b, ft, values):
    if not ft.results:
        b.ret_void()
    elif len(ft.results) == 1:
        b.ret(values[0])
    else:
        st = ir.Constant(ret_type(ft), ir.Undefined)
        for i, v in enumerate(values):
            st = b.insert_value(st, v, i)
        b.ret(st)


def _ret_undef(b, ft):
    if not ft.results:
        b.ret_void()
    else:
        b.ret(ir.Constant(ret_type(ft), ir.Undefined))


def _zero(vt):
    t = LLTYPE[vt]
    if t is F32 or t is F64:
        return ir.Constant(t, 0.0)
    return ir.Constant(t, 0)


# i32/i64 binary ops that map straight onto LLVM
_INT_BIN = {
    op.I32_ADD: "add", op.I32_SUB: "sub", op.I32_MUL: "mul", op.I32_AND: "and_",
    op.I32_OR: "or_", op.I32_XOR: "xor",
    op.I64_ADD: "add", op.I64_SUB: "sub", op.I64_MUL: "mul", op.I64_AND: "and_",
    op.I64_OR: "or_", op.I64_XOR: "xor",
}
_SHIFTS = {op.I32_SHL: ("shl", 31), op.I32_SHR_S: ("ashr", 31), op.I32_SHR_U: ("lshr", 31),
           op.I64_SHL: ("shl", 63), op.I64_SHR_S: ("ashr", 63), op.I64_SHR_U: ("lshr", 63)}
_ICMP = {
    op.I32_EQ: ("==", True), op.I32_NE: ("!=", True), op.I32_LT_S: ("<", True),
    op.I32_LT_U: ("<", False), op.I32_GT_S: (">", True), op.I32_GT_U: (">", False),
    op.I32_LE_S: ("<=", True), op.I32_LE_U: ("<=", False), op.I32_GE_S: (">=", True),
    op.I32_GE_U: (">=", False),
    op.I64_EQ: ("==", True), op.I64_NE: ("!=", True), op.I64_LT_S: ("<", True),
    op.I64_LT_U: ("<", False), op.I64_GT_S: (">", True), op.I64_GT_U: (">", False),
    op.I64_LE_S: ("<=", True), op.I64_LE_U: ("<=", False), op.I64_GE_S: (">=", True),
    op.I64_GE_U: (">=", False),
}
_FCMP = {
    op.F32_EQ: "==", op.F32_NE: "!=", op.F32_LT: "<", op.F32_GT: ">", op.F32_LE: "<=",
    op.F32_GE: ">=",
    op.F64_EQ: "==", op.F64_NE: "!=", op.F64_LT: "<", op.F64_GT: ">", op.F64_LE: "<=",
    op.F64_GE: ">=",
}
_FBIN = {op.F32_ADD: "fadd", op.F32_SUB: "fsub", op.F32_MUL: "fmul", op.F32_DIV: "fdiv",
         op.F64_ADD: "fadd", op.F64_SUB: "fsub", op.F64_MUL: "fmul", op.F64_DIV: "fdiv"}
_FUNARY = {op.F32_ABS: "llvm.fabs", op.F32_CEIL: "llvm.ceil", op.F32_FLOOR: "llvm.floor",
           op.F32_TRUNC: "llvm.trunc", op.F32_NEAREST: "llvm.roundeven", op.F32_SQRT: "llvm.sqrt",
           op.F64_ABS: "llvm.fabs", op.F64_CEIL: "llvm.ceil", op.F64_FLOOR: "llvm.floor",
           op.F64_TRUNC: "llvm.trunc", op.F64_NEAREST: "llvm.roundeven", op.F64_SQRT: "llvm.sqrt"}
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
# trapping float -> int: opcode -> (src, dst, signed)
_TRUNC = {
    op.I32_TRUNC_F32_S: (F32, I32, True), op.I32_TRUNC_F32_U: (F32, I32, False),
    op.I32_TRUNC_F64_S: (F64, I32, True), op.I32_TRUNC_F64_U: (F64, I32, False),
    op.I64_TRUNC_F32_S: (F32, I64, True), op.I64_TRUNC_F32_U: (F32, I64, False),
    op.I64_TRUNC_F64_S: (F64, I64, True), op.I64_TRUNC_F64_U: (F64, I64, False),
}
_TRUNC_SAT = {
    op.I32_TRUNC_SAT_F32_S: (F32, I32, True), op.I32_TRUNC_SAT_F32_U: (F32, I32, False),
    op.I32_TRUNC_SAT_F64_S: (F64, I32, True), op.I32_TRUNC_SAT_F64_U: (F64, I32, False),
    op.I64_TRUNC_SAT_F32_S: (F32, I64, True), op.I64_TRUNC_SAT_F32_U: (F32, I64, False),
    op.I64_TRUNC_SAT_F64_S: (F64, I64, True), op.I64_TRUNC_SAT_F64_U: (F64, I64, False),
}
_CONVERT = {
    op.F32_CONVERT_I32_S: (F32, True), op.F32_CONVERT_I32_U: (F32, False),
    op.F32_CONVERT_I64_S: (F32, True), op.F32_CONVERT_I64_U: (F32, False),
    op.F64_CONVERT_I32_S: (F64, True), op.F64_CONVERT_I32_U: (F64, False),
    op.F64_CONVERT_I64_S: (F64, True), op.F64_CONVERT_I64_U: (F64, False),
}


def _trunc_bounds(src, dst, signed):
    """(lower bound, lower inclusive?, upper bound exclusive) of the valid float inputs."""
    bits = dst.width
    if signed:
        lo = -(2.0 ** (bits - 1))
        if src is F64 and bits == 32:
            return -2147483649.0, False, 2.0 ** 31
        return lo, True, 2.0 ** (bits - 1)
    return -1.0, False, 2.0 ** bits


class FunctionTranslator:
    def __init__(self, mt: ModuleTranslator, j: int, function, resume=False):
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
            _ret_undef(self.b, self.ft)
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
            p = self._size_locals[k] = self.at_entry(lambda: _alloca(self.b, I64, f"msize{k}"))
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
        r = _call_ptr(b, fn, RT_TYPE, full)
        self.check_trap()
        return r

    # --- fuel / epochs (docs/resource-control.md; nothing is emitted unless enabled) --------------
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

    # --- the function ----------------------------------------------------------------------------
    def run(self):
        b = self.b
        ft = self.ft
        self.locals = []
        types = list(ft.params) + list(self.function.locals)
        for i, vt in enumerate(types):
            a = _alloca(b, LLTYPE[vt], f"l{i}")
            self.locals.append((a, LLTYPE[vt]))
        if self.resume:  # every local comes in, after the fuel and the check's number
            for i, (a, _) in enumerate(self.locals):
                b.store(self.fn.args[2 + self.fuel + i], a)
        else:
            for i, vt in enumerate(ft.params):
                b.store(self.fn.args[self.first_param + i], self.locals[i][0])
            for i, vt in enumerate(self.function.locals):
                b.store(_zero(vt), self.locals[len(ft.params) + i][0])
        self.shared = self.load_slot(L.VMLayout.SHARED)
        if self.fuel:  # set before the first trap block: a trap publishes it
            self.fuel_p = _alloca(b, I64, "fuel")
            b.store(self.fn.args[1] if self.body else self.fuel_slot_load(), self.fuel_p)
        depth_p = b.gep(self.shared, [ir.Constant(I64, L.SH_DEPTH)], source_etype=I64)
        depth = b.load(depth_p, typ=I64)  # calls left before STACK_OVERFLOW
        if self.resume:
            self.run_resumed(depth, depth_p)
            return
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
        live_at_entry, self.live_at_loops = live_locals(self.function.body) if self.epochs else (-1, {})
        self.call_checked_loops = call_checked_loops(self.function.body, self.mt.entry_checked) \
            if self.epochs else set()
        if self.j in self.mt.entry_checked:
            self.epoch_check(live_at_entry)
        top = Frame("func", (), tuple(ft.results), 0)
        top.end = self.fn.append_basic_block("return")
        self.frames.append(top)
        for ins in self.function.body:
            self.step(ins)

    def run_resumed(self, depth, depth_p):
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
        top = Frame("func", (), tuple(self.ft.results), 0)
        top.end = self.fn.append_basic_block("return")
        self.frames.append(top)
        for ins in self.function.body:
            self.step(ins)

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
        _ret_values(b, self.ft, values)

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
            return
        if code in _INT_BIN:
            b2, a = self.pop(), self.pop()
            self.push(getattr(self.b, _INT_BIN[code])(a, b2))
        elif code in _ICMP:
            b2, a = self.pop(), self.pop()
            cmp, signed = _ICMP[code]
            c = (self.b.icmp_signed if signed else self.b.icmp_unsigned)(cmp, a, b2)
            self.push(self.b.zext(c, I32))
        elif code in _FCMP:
            b2, a = self.pop(), self.pop()
            cmp = _FCMP[code]
            c = self.b.fcmp_unordered(cmp, a, b2) if cmp == "!=" else self.b.fcmp_ordered(cmp, a, b2)
            self.push(self.b.zext(c, I32))
        elif code in _FBIN:
            b2, a = self.pop(), self.pop()
            # LLVM folds x*1, x/1, x*-1, x+-0, x-0 to x or -x, which keeps a signalling NaN
            # signalling; wasm wants a quiet NaN, so hide such constants from the optimizer.
            if self.fconst.get(id(b2)) in _IDENTITY:
                b2 = self.opaque(b2)
            if self.fconst.get(id(a)) in _IDENTITY:
                a = self.opaque(a)
            self.push(getattr(self.b, _FBIN[code])(a, b2))
        elif code in _SHIFTS:
            name, mask = _SHIFTS[code]
            b2, a = self.pop(), self.pop()
            self.push(getattr(self.b, name)(a, self.b.and_(b2, ir.Constant(a.type, mask))))
        elif code in _FUNARY:
            a = self.pop()
            self.push(self.b.call(self.mt.intrinsic(_FUNARY[code], [a.type]), [a]))
        elif code in _LOADS:
            self.op_load(ins)
        elif code in _STORES:
            self.op_store(ins)
        elif code in _TRUNC:
            self.op_trunc(code)
        elif code in _TRUNC_SAT:
            src, dst, signed = _TRUNC_SAT[code]
            a = self.pop()
            name = "llvm.fptosi.sat" if signed else "llvm.fptoui.sat"
            fn = self.mt.intrinsic_typed(f"{name}.i{dst.width}.{'f32' if src is F32 else 'f64'}",
                                         ir.FunctionType(dst, [src]))
            self.push(self.b.call(fn, [a]))
        elif code in _CONVERT:
            dst, signed = _CONVERT[code]
            a = self.pop()
            self.push(self.b.sitofp(a, dst) if signed else self.b.uitofp(a, dst))
        elif code >> 16 == op.SIMD_PREFIX and _simd.translate(self, ins):
            pass
        else:
            self.unsupported(code)

    def unsupported(self, code):
        self.trap(L.STATUS_UNSUPPORTED)

    def opaque(self, v):
        """`v` through an empty inline asm: the optimizer cannot see its value."""
        asm = ir.InlineAsm(ir.FunctionType(v.type, [v.type]), "", "=x,0")
        return self.b.call(asm, [v])

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
        if id(ins) not in self.call_checked_loops:
            self.epoch_check(self.live_at_loops.get(id(ins), -1))
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
            r = _call_ptr(self.b, code, fn_type(ft), [callee] + args)
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
        self.stack.extend(_unpack(self.b, r, ft))

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
        r = _call_ptr(b, code, fn_type(ft), [callee] + args)
        self.check_trap()
        self.fuel_reload()
        self.stack.extend(_unpack(b, r, ft))

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

    # memory
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

    # constants
    def op_i32_const(self, ins):
        self.push(ir.Constant(I32, ins[1] & 0xFFFFFFFF))

    def op_i64_const(self, ins):
        self.push(ir.Constant(I64, ins[1] & 0xFFFFFFFFFFFFFFFF))

    def op_f32_const(self, ins):
        v = _f32(ins[1])
        self.fconst[id(v)] = struct.unpack("<f", struct.pack("<I", ins[1]))[0]
        self.keep.append(v)
        self.push(v)

    def op_f64_const(self, ins):
        v = _f64(ins[1])
        self.fconst[id(v)] = struct.unpack("<d", struct.pack("<Q", ins[1]))[0]
        self.keep.append(v)
        self.push(v)

    # integer arithmetic
    def op_eqz(self, ins):
        a = self.pop()
        self.push(self.b.zext(self.b.icmp_unsigned("==", a, ir.Constant(a.type, 0)), I32))

    def op_clz(self, ins):
        a = self.pop()
        self.push(self.b.call(self.mt.intrinsic("llvm.ctlz", [a.type]), [a, ir.Constant(I1, 0)]))

    def op_ctz(self, ins):
        a = self.pop()
        self.push(self.b.call(self.mt.intrinsic("llvm.cttz", [a.type]), [a, ir.Constant(I1, 0)]))

    def op_popcnt(self, ins):
        a = self.pop()
        self.push(self.b.call(self.mt.intrinsic("llvm.ctpop", [a.type]), [a]))

    def op_div(self, ins):
        b2, a = self.pop(), self.pop()
        t = a.type
        b = self.b
        signed = ins[0] in (op.I32_DIV_S, op.I64_DIV_S, op.I32_REM_S, op.I64_REM_S)
        rem = ins[0] in (op.I32_REM_S, op.I64_REM_S, op.I32_REM_U, op.I64_REM_U)
        self.trap_if(b.icmp_unsigned("==", b2, ir.Constant(t, 0)),
                     L.status_of(TrapCode.INTEGER_DIVISION_BY_ZERO))
        if signed:
            minus1 = b.icmp_unsigned("==", b2, ir.Constant(t, (1 << t.width) - 1))
            if rem:
                # INT_MIN % -1 is 0 in wasm and UB in LLVM: divide by 1 instead
                safe = b.select(minus1, ir.Constant(t, 1), b2)
                self.push(b.srem(a, safe))
                return
            overflow = b.and_(minus1, b.icmp_unsigned("==", a, ir.Constant(t, 1 << (t.width - 1))))
            self.trap_if(overflow, L.status_of(TrapCode.INTEGER_OVERFLOW))
            self.push(b.sdiv(a, b2))
        else:
            self.push(b.urem(a, b2) if rem else b.udiv(a, b2))

    def op_rot(self, ins):
        b2, a = self.pop(), self.pop()
        name = "llvm.fshl" if ins[0] in (op.I32_ROTL, op.I64_ROTL) else "llvm.fshr"
        self.push(self.b.call(self.mt.intrinsic(name, [a.type]), [a, a, b2]))

    # float
    def op_fneg(self, ins):
        self.push(self.b.fneg(self.pop()))

    def op_copysign(self, ins):
        b2, a = self.pop(), self.pop()
        self.push(self.b.call(self.mt.intrinsic("llvm.copysign", [a.type]), [a, b2]))

    def op_fminmax(self, ins):
        b2, a = self.pop(), self.pop()
        b = self.b
        t = a.type
        it = I32 if t is F32 else I64
        is_min = ins[0] in (op.F32_MIN, op.F64_MIN)
        nan = b.fcmp_unordered("uno", a, b2)
        lt = b.fcmp_ordered("<" if is_min else ">", a, b2)
        eq = b.fcmp_ordered("==", a, b2)
        ai, bi = b.bitcast(a, it), b.bitcast(b2, it)
        # equal operands differ only for +-0: min takes the sign bit of either, max of both
        same = b.bitcast(b.or_(ai, bi) if is_min else b.and_(ai, bi), t)
        r = b.select(lt, a, b2)
        r = b.select(eq, same, r)
        r = b.select(nan, b.fadd(a, b2), r)
        self.push(r)

    # conversions
    def op_wrap(self, ins):
        self.push(self.b.trunc(self.pop(), I32))

    def op_extend_s(self, ins):
        self.push(self.b.sext(self.pop(), I64))

    def op_extend_u(self, ins):
        self.push(self.b.zext(self.pop(), I64))

    def op_demote(self, ins):
        # opaque: LLVM folds demote(promote(x)) to x, keeping a signalling NaN signalling
        self.push(self.b.fptrunc(self.opaque(self.pop()), F32))

    def op_promote(self, ins):
        self.push(self.b.fpext(self.pop(), F64))

    def op_reinterpret(self, ins):
        target = {op.I32_REINTERPRET_F32: I32, op.I64_REINTERPRET_F64: I64,
                  op.F32_REINTERPRET_I32: F32, op.F64_REINTERPRET_I64: F64}[ins[0]]
        self.push(self.b.bitcast(self.pop(), target))

    def op_sign_extend(self, ins):
        narrow = {op.I32_EXTEND8_S: (I8, I32), op.I32_EXTEND16_S: (I16, I32),
                  op.I64_EXTEND8_S: (I8, I64), op.I64_EXTEND16_S: (I16, I64),
                  op.I64_EXTEND32_S: (I32, I64)}[ins[0]]
        self.push(self.b.sext(self.b.trunc(self.pop(), narrow[0]), narrow[1]))

    def op_trunc(self, code):
        src, dst, signed = _TRUNC[code]
        a = self.pop()
        b = self.b
        self.trap_if(b.fcmp_unordered("uno", a, a), L.status_of(TrapCode.BAD_CONVERSION_TO_INTEGER))
        lo, lo_incl, hi = _trunc_bounds(src, dst, signed)
        c = _f32c if src is F32 else _f64c
        low_ok = b.fcmp_ordered(">=" if lo_incl else ">", a, c(lo))
        high_ok = b.fcmp_ordered("<", a, c(hi))
        self.trap_if(b.not_(b.and_(low_ok, high_ok)), L.status_of(TrapCode.INTEGER_OVERFLOW))
        self.push(b.fptosi(a, dst) if signed else b.fptoui(a, dst))

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


_IDENTITY = (1.0, -1.0, 0.0)  # -0.0 == 0.0
# Wasmtime's free operators (no code or pure control flow): nop drop block loop else end return
# unreachable.
FUEL_FREE = frozenset((op.NOP, op.DROP, op.BLOCK, op.LOOP, op.ELSE, op.END, op.RETURN,
                       op.UNREACHABLE))


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
    op.MEMORY_SIZE: FunctionTranslator.op_memory_size,
    op.MEMORY_GROW: FunctionTranslator.op_memory_grow,
    op.MEMORY_FILL: FunctionTranslator.op_memory_fill,
    op.MEMORY_COPY: FunctionTranslator.op_memory_copy,
    op.MEMORY_INIT: FunctionTranslator.op_memory_init,
    op.DATA_DROP: FunctionTranslator.op_data_drop,
    op.I32_CONST: FunctionTranslator.op_i32_const, op.I64_CONST: FunctionTranslator.op_i64_const,
    op.F32_CONST: FunctionTranslator.op_f32_const, op.F64_CONST: FunctionTranslator.op_f64_const,
    op.I32_EQZ: FunctionTranslator.op_eqz, op.I64_EQZ: FunctionTranslator.op_eqz,
    op.I32_CLZ: FunctionTranslator.op_clz, op.I64_CLZ: FunctionTranslator.op_clz,
    op.I32_CTZ: FunctionTranslator.op_ctz, op.I64_CTZ: FunctionTranslator.op_ctz,
    op.I32_POPCNT: FunctionTranslator.op_popcnt, op.I64_POPCNT: FunctionTranslator.op_popcnt,
    op.I32_ROTL: FunctionTranslator.op_rot, op.I32_ROTR: FunctionTranslator.op_rot,
    op.I64_ROTL: FunctionTranslator.op_rot, op.I64_ROTR: FunctionTranslator.op_rot,
    op.F32_NEG: FunctionTranslator.op_fneg, op.F64_NEG: FunctionTranslator.op_fneg,
    op.F32_COPYSIGN: FunctionTranslator.op_copysign, op.F64_COPYSIGN: FunctionTranslator.op_copysign,
    op.F32_MIN: FunctionTranslator.op_fminmax, op.F32_MAX: FunctionTranslator.op_fminmax,
    op.F64_MIN: FunctionTranslator.op_fminmax, op.F64_MAX: FunctionTranslator.op_fminmax,
    op.I32_WRAP_I64: FunctionTranslator.op_wrap,
    op.I64_EXTEND_I32_S: FunctionTranslator.op_extend_s,
    op.I64_EXTEND_I32_U: FunctionTranslator.op_extend_u,
    op.F32_DEMOTE_F64: FunctionTranslator.op_demote, op.F64_PROMOTE_F32: FunctionTranslator.op_promote,
    op.REF_NULL: FunctionTranslator.op_ref_null, op.REF_IS_NULL: FunctionTranslator.op_ref_is_null,
    op.REF_FUNC: FunctionTranslator.op_ref_func, op.TABLE_GET: FunctionTranslator.op_table_get,
    op.TABLE_SET: FunctionTranslator.op_table_set, op.TABLE_SIZE: FunctionTranslator.op_table_size,
    op.TABLE_GROW: FunctionTranslator.op_table_grow, op.TABLE_FILL: FunctionTranslator.op_table_fill,
    op.TABLE_COPY: FunctionTranslator.op_table_copy, op.TABLE_INIT: FunctionTranslator.op_table_init,
    op.ELEM_DROP: FunctionTranslator.op_elem_drop,
}
for _c in (op.I32_DIV_S, op.I32_DIV_U, op.I32_REM_S, op.I32_REM_U, op.I64_DIV_S, op.I64_DIV_U,
           op.I64_REM_S, op.I64_REM_U):
    _DISPATCH[_c] = FunctionTranslator.op_div
for _c in (op.I32_REINTERPRET_F32, op.I64_REINTERPRET_F64, op.F32_REINTERPRET_I32,
           op.F64_REINTERPRET_I64):
    _DISPATCH[_c] = FunctionTranslator.op_reinterpret
for _c in (op.I32_EXTEND8_S, op.I32_EXTEND16_S, op.I64_EXTEND8_S, op.I64_EXTEND16_S,
           op.I64_EXTEND32_S):
    _DISPATCH[_c] = FunctionTranslator.op_sign_extend
