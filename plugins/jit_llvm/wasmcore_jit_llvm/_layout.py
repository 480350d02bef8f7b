"""The layouts shared by generated code and the Python side: vmctx slots, the store-level
shared state, table entries, host records, status codes and runtime-call opcodes.

Every slot is 8 bytes. See docs/jit_llvm.md."""

from __future__ import annotations

from wasmcore.errors import TrapCode
from wasmcore.syntax.types import ExternKind

# --- shared state (one per store): u64 slots ----------------------------------------------------
SH_TRAP = 0         # status of the trap being propagated (0 = none)
SH_DEPTH = 1        # wasm calls left before one traps with STACK_OVERFLOW (counts down)
SH_DEPTH_LIMIT = 2  # the depth budget: SH_DEPTH's value when no wasm code is running
SH_STACK_LIMIT = 3  # lowest native stack address wasm code may use (set by the outermost entry)
SH_BT_COUNT = 4     # frames recorded in the backtrace buffer while a trap propagates
SH_BT_BUF = 5       # pointer to BT_CAP entries of {vmctx, function index}
SH_STACK_BUDGET = 6  # native stack bytes wasm may use below the outermost entry
# Fuel / epochs (docs/resource-control.md): the Store's state lives in Python (store.vm); the
# Python side copies it in on entry to wasm and after host calls, and back out on exits.
SH_FUEL = 7         # active fuel (signed i64) published at calls, returns and checks
SH_DEADLINE = 8     # store.vm.epoch_deadline (u64), compared with the engine's epoch
SH_EPOCH_PTR = 9    # address of engine.epoch_cell (u64, incremented by increment_epoch)
SH_SLOTS = 10
BT_CAP = 64

# --- status codes (what trampolines return and SH_TRAP holds) ----------------------------------
# A TrapCode with its default message is its value + 1.
STATUS_HOST_EXCEPTION = 100   # a Python exception is pending in the store state
STATUS_TABLE_ACCESS = 101     # TABLE_OUT_OF_BOUNDS, worded for table.get/set/fill/copy/init


def status_of(code: TrapCode) -> int:
    return code.value + 1


# --- table: a descriptor {entries, size}; an entry is {code, type id, vmctx} -------------------
TD_ENTRIES = 0
TD_SIZE = 1
ENTRY_SLOTS = 3

# --- memory cell: {base, size} ----------------------------------------------------------------
MC_BASE = 0
MC_SIZE = 1

# --- host record: a fake vmctx for host trampolines: {shared, callback} ----------------------
HR_SHARED = 0
HR_CALLBACK = 1
HR_SLOTS = 2

# --- runtime call opcodes: i64 rt(vmctx, op, a, b, c, d) ---------------------------------------
RT_MEMORY_GROW = 1
RT_MEMORY_INIT = 2
RT_DATA_DROP = 3
RT_TABLE_GET = 4
RT_TABLE_SET = 5
RT_TABLE_GROW = 6
RT_TABLE_FILL = 7
RT_TABLE_COPY = 8
RT_TABLE_INIT = 9
RT_ELEM_DROP = 10
RT_TABLE_SIZE = 11
RT_REF_FUNC = 12
RT_GLOBAL_GET_REF = 13
RT_GLOBAL_SET_REF = 14
RT_OUT_OF_FUEL = 15       # a: the active fuel (<= 0); returns the refilled fuel or traps
RT_EPOCH_DEADLINE = 16    # the epoch reached the deadline; returns the new deadline or traps


class VMLayout:
    """vmctx slot numbers of one module: 0 shared state, 1 runtime-call function, then a
    pointer per memory cell, table descriptor and global cell, a canonical type id per type,
    and {code, vmctx} per imported function."""

    SHARED = 0
    RT = 1

    def __init__(self, module):
        self.n_func_imports = sum(1 for i in module.imports if i.kind == ExternKind.FUNC)
        n_mem = sum(1 for i in module.imports if i.kind == ExternKind.MEMORY) + len(module.memories)
        n_tab = sum(1 for i in module.imports if i.kind == ExternKind.TABLE) + len(module.tables)
        n_glob = sum(1 for i in module.imports if i.kind == ExternKind.GLOBAL) + len(module.globals)
        self.n_memories, self.n_tables, self.n_globals = n_mem, n_tab, n_glob
        self.memory0 = 2
        self.table0 = self.memory0 + n_mem
        self.global0 = self.table0 + n_tab
        self.type0 = self.global0 + n_glob
        self.import0 = self.type0 + len(module.types)
        self.size = self.import0 + 2 * self.n_func_imports

    def memory(self, k: int) -> int:
        return self.memory0 + k

    def table(self, k: int) -> int:
        return self.table0 + k

    def global_(self, k: int) -> int:
        return self.global0 + k

    def type_id(self, k: int) -> int:
        return self.type0 + k

    def import_code(self, j: int) -> int:
        return self.import0 + 2 * j

    def import_vmctx(self, j: int) -> int:
        return self.import0 + 2 * j + 1
