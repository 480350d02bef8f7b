"""The glue functions of an llvm module, around the translated wasm functions
(docs/jit_llvm.md, "Functions and calling conventions"): `entry_<sig>` (Python -> wasm, one
pointer to an argument block), `host_<sig>` (wasm -> a host record's callback), the fuel
wrapper `f<j>` around `f<j>_body`, and the `out_of_fuel` runtime-call thunk."""

from __future__ import annotations

from llvmlite import ir

from wasmcore_jit_llvm import _layout as L
from wasmcore_jit_llvm import _simd
from wasmcore_jit_llvm._ir import (HOST_CALLBACK_TYPE, I32, I64, PTR, RT_TYPE, alloca, call_ptr,
                                   fn_type, from_bits, ret_undef, ret_values, slot_type, to_bits,
                                   unpack)


def out_of_fuel_thunk(mt):
    """i64 out_of_fuel(vmctx, fuel): the refill runtime call behind a calling convention
    that preserves every register. A fuel check's cold call then clobbers nothing the
    code around it holds: with the C convention, each value live across a check must sit
    in a callee-saved register, and even a leaf function pays for saving them on entry."""
    fn = ir.Function(mt.ir, ir.FunctionType(I64, [PTR, I64]), "out_of_fuel")
    fn.linkage = "internal"
    if mt.sp_register == "rsp":  # x86-64; elsewhere the C convention (still correct)
        fn.calling_convention = "preserve_allcc"
    for attribute in ("noinline", "cold", "nounwind"):
        fn.attributes.add(attribute)
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    vmctx = fn.args[0]
    rt = b.load(b.gep(vmctx, [ir.Constant(I64, L.VMLayout.RT)], source_etype=I64), typ=PTR)
    rt.set_metadata("tbaa", mt.tbaa_ctx)
    zero = ir.Constant(I64, 0)
    b.ret(call_ptr(b, rt, RT_TYPE, [vmctx, ir.Constant(I32, L.RT_OUT_OF_FUEL), fn.args[1],
                                    zero, zero, zero]))
    return fn


def fuel_wrapper(mt, j, body):
    """f{j} with fuel on: the body with the fuel of the shared slot, stored back after."""
    fn = mt.functions[j]
    fn.attributes.add("nounwind")
    ft = mt.func_types[j]
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    shared = b.load(fn.args[0], typ=PTR)
    shared.set_metadata("tbaa", mt.tbaa_ctx)
    slot = b.gep(shared, [ir.Constant(I64, L.SH_FUEL)], source_etype=I64)
    fuel = b.load(slot, typ=I64)
    fuel.set_metadata("tbaa", mt.tbaa_ctx)
    r = b.call(body, [fn.args[0], fuel] + list(fn.args[1:]))
    b.store(b.extract_value(r, 0), slot).set_metadata("tbaa", mt.tbaa_ctx)
    ret_values(b, ft, [b.extract_value(r, 1 + i) for i in range(len(ft.results))])


def entry_trampoline(mt, key, ft):
    """i32 entry_<sig>(ptr block): the Python -> wasm call; block = {vmctx, code,
    args_and_results...} (one pointer argument: the cheapest ctypes call)."""
    fn = ir.Function(mt.ir, ir.FunctionType(I32, [PTR]), f"entry_{key}")
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
        sp = mt.stack_pointer(b)
        budget = b.load(b.gep(shared, [ir.Constant(I64, L.SH_STACK_BUDGET)], source_etype=I64),
                        typ=I64)
        limit = b.sub(sp, budget)
        b.store(limit, b.gep(shared, [ir.Constant(I64, L.SH_STACK_LIMIT)], source_etype=I64))
    args = [vmctx]
    for i, vt in zip(_simd.slots(ft.params), ft.params):  # a v128 takes two slots
        raw = b.load(b.gep(argv, [ir.Constant(I64, i)], source_etype=I64), typ=slot_type(vt),
                     align=8)
        args.append(from_bits(b, raw, vt))
    result = call_ptr(b, target, fn_type(ft), args)
    trap_p = shared
    status = b.load(trap_p, typ=I64)
    with b.if_then(b.icmp_unsigned("!=", status, ir.Constant(I64, 0))):
        b.store(ir.Constant(I64, 0), trap_p)
        b.store(depth, depth_p)
        b.ret(b.trunc(status, I32))
    values = unpack(b, result, ft)
    for i, vt, v in zip(_simd.slots(ft.results), ft.results, values):
        b.store(to_bits(b, v, vt), b.gep(argv, [ir.Constant(I64, i)], source_etype=I64),
                align=8)
    b.ret(ir.Constant(I32, 0))


def host_trampoline(mt, key, ft):
    """ret host_<sig>(ptr record, params...): wasm -> Python, through the record's
    array-style callback `i32 cb(ptr record, ptr args_and_results)`."""
    fn = ir.Function(mt.ir, fn_type(ft), f"host_{key}")
    record = fn.args[0]
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    n = max(_simd.n_slots(ft.params), _simd.n_slots(ft.results), 1)
    arr = alloca(b, ir.ArrayType(I64, n))
    for i, vt, v in zip(_simd.slots(ft.params), ft.params, fn.args[1:]):
        b.store(to_bits(b, v, vt), b.gep(arr, [ir.Constant(I64, 0), ir.Constant(I64, i)],
                                         source_etype=ir.ArrayType(I64, n)), align=8)
    cb = b.load(b.gep(record, [ir.Constant(I64, L.HR_CALLBACK)], source_etype=I64), typ=PTR)
    status = call_ptr(b, cb, HOST_CALLBACK_TYPE, [record, arr])
    with b.if_then(b.icmp_unsigned("!=", status, ir.Constant(I32, 0)), likely=False):
        shared = b.load(record, typ=PTR)
        b.store(b.zext(status, I64), shared)
        ret_undef(b, ft)
    values = []
    for i, vt in zip(_simd.slots(ft.results), ft.results):
        raw = b.load(b.gep(arr, [ir.Constant(I64, 0), ir.Constant(I64, i)],
                           source_etype=ir.ArrayType(I64, n)), typ=slot_type(vt), align=8)
        values.append(from_bits(b, raw, vt))
    ret_values(b, ft, values)
