"""A validated wasm module -> one LLVM module (docs/jit_llvm.md). The ModuleTranslator
declares every function (`f<j>`, with fuel `f<j>_body`, with epochs `f<j>_resume`), the TBAA
metadata and intrinsics the code uses, then has each body translated (`_function`) and adds
the glue (`_trampolines`). Everything the code needs is reached through vmctx (see
_layout.py); no address of this process is baked into the IR. A trap stores its status into
the shared state's trap slot and returns; every call site checks the slot and returns too (no
unwinding).
"""

from __future__ import annotations

from llvmlite import ir

from wasmcore.syntax.types import ExternKind
from wasmcore_jit_llvm import _layout as L
from wasmcore_jit_llvm import _trampolines
from wasmcore_jit_llvm._function import FunctionTranslator
from wasmcore_jit_llvm._ir import (I1, I8, I32, I64, PTR, UNARY_FLOAT, VOID, body_type, fn_type,
                                   mangle, sig_key)
from wasmcore_jit_llvm._metering import declare_resumes, entry_checked


class ModuleTranslator:
    """`translate()` returns the llvmlite IR module; `layout`, `func_types`, `signatures`
    (sig_key -> FuncType with trampolines) and `entry_checked` describe it for binding."""

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
        # which found the deadline reached continues in (see Metering.epoch_check).
        self.entry_checked = entry_checked(module, epochs)
        self.resumes = declare_resumes(self)
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
        self.out_of_fuel = _trampolines.out_of_fuel_thunk(self) if fuel else None

    def stack_pointer(self, b):
        """The native stack pointer (an i64): the register if known, else frameaddress."""
        if self.sp_register:
            return b.call(self.read_register, [self.sp_name])
        return b.ptrtoint(b.call(self.frameaddress, [ir.Constant(I32, 0)]), I64)

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
            suffix = ".".join(mangle(x) for x in types)
            if name in ("llvm.ctlz", "llvm.cttz"):
                fnty = ir.FunctionType(t, [t, I1])
            elif name == "llvm.ctpop" or name in UNARY_FLOAT:
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
            _trampolines.fuel_wrapper(self, j, body)
        for ft in self.module.types:
            self.signatures.setdefault(sig_key(ft), ft)
        for key, ft in self.signatures.items():
            _trampolines.entry_trampoline(self, key, ft)
            _trampolines.host_trampoline(self, key, ft)
        return self.ir


__all__ = ["ModuleTranslator", "sig_key"]
