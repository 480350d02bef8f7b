"""Binding an llvm module to an instance (docs/jit_llvm.md, "vmctx", "Tables", "Globals"):
`LLVMInstance` fills the instance's vmctx (the store's shared block and runtime call, memory
cells, table descriptors, global cells, type ids, imported functions), gives each defined
function its `invoke`, and runs the runtime calls native code makes. The native cells of
memories and globals and the `TableMirror` of a funcref table live on the runtime objects
(`.native`), shared by every llvm instance using them."""

from __future__ import annotations

import ctypes

from wasmcore.kernel.artifact import host_target
from wasmcore.errors import Trap, TrapCode, WasmcoreError
from wasmcore.runtime import GlobalInstance
from wasmcore.syntax.types import ValueType
from wasmcore_jit_llvm import _layout as L
from wasmcore_jit_llvm._simd import V128Cell
from wasmcore_jit_llvm._store import (M64, REF_TYPES, U64, FuncRef, StoreState, make_invoke,
                                      state_of)
from wasmcore_jit_llvm._translate import sig_key

M32 = 0xFFFFFFFF


def memory_cell(mem):
    cell = mem.native
    if cell is None:
        view = ctypes.c_char.from_buffer(mem.data)
        base = ctypes.addressof(view)
        del view  # release the buffer export; the mapping never moves or closes under us
        cell = mem.native = (U64 * 2)(base, mem.size)
    return cell


class NativeGlobalInstance(GlobalInstance):
    """A GlobalInstance whose value lives in a native cell (shared with llvm code)."""

    __slots__ = ()

    @property
    def value(self):
        return self.native.value

    @value.setter
    def value(self, v):
        self.native.value = v


def global_cell(glob):
    if glob.native is None:
        if glob.type.value_type == ValueType.V128:
            cell = V128Cell()
            cell.value = GlobalInstance.value.__get__(glob)
        else:
            cell = U64(GlobalInstance.value.__get__(glob) & M64)
        glob.native = cell
        glob.__class__ = NativeGlobalInstance
    return glob.native


class TableMirror:
    """The native copy {entries, size} of a funcref table, rewritten by the TableInstance
    methods that change it."""

    def __init__(self, table, state: StoreState):
        self.table = table
        self.state = state
        self.desc = (U64 * 2)()
        self.cap = 0
        self.entries = None
        self.retired: list = []
        self.grown()

    def grown(self):
        n = len(self.table.elements)
        if n > self.cap:
            cap = max(n, 2 * self.cap, 8)
            new = (U64 * (L.ENTRY_SLOTS * cap))()
            if self.entries is not None:
                ctypes.memmove(new, self.entries, 8 * L.ENTRY_SLOTS * self.cap)
                self.retired.append(self.entries)
            self.entries, self.cap = new, cap
            self.desc[L.TD_ENTRIES] = ctypes.addressof(new)
        old = self.desc[L.TD_SIZE]
        self.desc[L.TD_SIZE] = n
        if n > old:
            self.changed(old, n - old)

    def changed(self, start: int, count: int):
        e = self.entries
        elements = self.table.elements
        entry_of = self.state.entry_of
        unresolved = False
        for i in range(start, start + count):
            code, tid, ctx = entry_of(elements[i])
            unresolved = unresolved or (tid and not code)
            k = L.ENTRY_SLOTS * i
            e[k] = code
            e[k + 1] = tid
            e[k + 2] = ctx
        if unresolved:  # a function no host trampoline of the store serves yet: add_module
            self.state.unresolved.add(self)


def table_descriptor(table, state, compiled) -> int:
    """The address of `table`'s native descriptor (0 for externref tables), for an instance
    of `compiled` in the store of `state`."""
    if table.type.element != ValueType.FUNCREF:
        return 0
    mirror = table.native
    if mirror is None:
        mirror = table.native = TableMirror(table, state)
    elif mirror.state is not state:  # another store's table: its entries may need our code
        mirror.state.add_module(compiled)
    return ctypes.addressof(mirror.desc)


class LLVMInstance:
    """Per-instance handle: the vmctx and the bindings of the instance's functions."""

    def __init__(self, store, compiled, instance):
        if compiled.foreign:
            raise WasmcoreError(f"this module was compiled for {compiled.target}; it cannot be "
                                f"instantiated on this host ({host_target()})")
        self.compiled = compiled
        self.instance = instance
        self.module_name = instance.name if getattr(instance, "name", None) else \
            compiled.module.names.module
        state = self.state = state_of(store)
        layout = compiled.layout
        vm = self.vmctx = (U64 * max(layout.size, 2))()
        addr = self.vmctx_addr = ctypes.addressof(vm)
        vm[L.VMLayout.SHARED] = state.shared_addr
        vm[L.VMLayout.RT] = state.rt_address
        state.add_module(compiled)  # before the tables: their entries may need its trampolines
        for k, mem in enumerate(instance.memories):
            vm[layout.memory(k)] = ctypes.addressof(memory_cell(mem))
        for k, table in enumerate(instance.tables):
            vm[layout.table(k)] = table_descriptor(table, state, compiled)
        for k, glob in enumerate(instance.globals):
            if glob.type.value_type not in REF_TYPES:
                vm[layout.global_(k)] = ctypes.addressof(global_cell(glob))
        for k, ft in enumerate(compiled.module.types):
            vm[layout.type_id(k)] = state.types.type_id(ft)
        state.instances[addr] = self
        n_imp = compiled.n_imports
        for j in range(n_imp):
            fi = instance.funcs[j]
            native = fi.native
            if fi.backend == "llvm" and native.__class__ is FuncRef and \
                    native.shared == state.shared_addr:
                vm[layout.import_code(j)] = fi.native.code
                vm[layout.import_vmctx(j)] = fi.native.vmctx
            else:
                callable_ = instance.host_calls[j]
                vm[layout.import_code(j)] = compiled.addresses[f"host_{sig_key(fi.type)}"]
                vm[layout.import_vmctx(j)] = state.host_record(fi, callable_)
        for j in range(n_imp, len(instance.funcs)):
            fi = instance.funcs[j]
            ft = fi.type
            code = compiled.addresses[f"f{j}"]
            fi.native = FuncRef(code, addr, state.types.type_id(ft), state.shared_addr)
            fi.backend = "llvm"
            fi.invoke = make_invoke(ft, compiled.entries[sig_key(ft)], addr, code, state,
                                    check_epoch=j not in compiled.entry_checked)

    def runtime_call(self, opcode, a, b, c, d):
        inst = self.instance
        state = self.state
        if opcode == L.RT_OUT_OF_FUEL:
            active = a - (1 << 64) if a >> 63 else a
            state.fuel_cell.value = active  # what the store keeps if this traps
            active = state.vm.out_of_fuel(active)
            state.fuel_cell.value = active
            return active
        if opcode == L.RT_EPOCH_DEADLINE:
            state.epoch_deadline_reached()
            return 0
        if opcode == L.RT_MEMORY_GROW:
            return inst.memories[a].grow(b & M32)
        if opcode == L.RT_TABLE_GET:
            elements = inst.tables[a].elements
            if b >= len(elements):
                raise Trap(TrapCode.TABLE_OUT_OF_BOUNDS, "out of bounds table access")
            return state.handle(elements[b])
        if opcode == L.RT_TABLE_SET:
            table = inst.tables[a]
            if b >= len(table.elements):
                raise Trap(TrapCode.TABLE_OUT_OF_BOUNDS, "out of bounds table access")
            table.set(b, state.obj(c))
            return 0
        if opcode == L.RT_TABLE_SIZE:
            return len(inst.tables[a].elements)
        if opcode == L.RT_TABLE_GROW:
            return inst.tables[a].grow(c & M32, state.obj(b))
        if opcode == L.RT_TABLE_FILL:
            table = inst.tables[a]
            n = d & M32
            if b + n > len(table.elements):
                raise Trap(TrapCode.TABLE_OUT_OF_BOUNDS, "out of bounds table access")
            if n:
                table.set_range(b, [state.obj(c)] * n)
            return 0
        if opcode == L.RT_TABLE_COPY:
            dt, st = inst.tables[a >> 32], inst.tables[a & M32]
            if c + d > len(st.elements) or b + d > len(dt.elements):
                raise Trap(TrapCode.TABLE_OUT_OF_BOUNDS, "out of bounds table access")
            if d:
                dt.set_range(b, st.elements[c:c + d])
            return 0
        if opcode == L.RT_TABLE_INIT:
            table, seg = inst.tables[a >> 32], inst.elements[a & M32]
            if c + d > len(seg) or b + d > len(table.elements):
                raise Trap(TrapCode.TABLE_OUT_OF_BOUNDS, "out of bounds table access")
            if d:
                table.set_range(b, seg[c:c + d])
            return 0
        if opcode == L.RT_ELEM_DROP:
            inst.elements[a] = []
            return 0
        if opcode == L.RT_MEMORY_INIT:
            mem, seg = inst.memories[a >> 32], inst.datas[a & M32]
            if c + d > len(seg) or b + d > mem.size:
                raise Trap(TrapCode.MEMORY_OUT_OF_BOUNDS)
            if d:
                mem.data[b:b + d] = seg[c:c + d]
            return 0
        if opcode == L.RT_DATA_DROP:
            inst.datas[a] = b""
            return 0
        if opcode == L.RT_REF_FUNC:
            return state.handle(inst.funcs[a])
        if opcode == L.RT_GLOBAL_GET_REF:
            return state.handle(inst.globals[a].value)
        if opcode == L.RT_GLOBAL_SET_REF:
            inst.globals[a].value = state.obj(b)
            return 0
        raise WasmcoreError(f"llvm backend: unknown runtime call {opcode}")


__all__ = ["LLVMInstance", "FuncRef"]
