"""proc_exit, proc_raise, sched_yield."""

from wasmcore.errors import ExitTrap

from ._errno import NOSYS
from ._registry import wasi


@wasi("proc_exit", "i", results="")
def proc_exit(ctx, mem, code):
    raise ExitTrap(code)


@wasi("proc_raise", "i", needs_memory=False)
def proc_raise(ctx, mem, sig):
    return NOSYS


@wasi("sched_yield", "", needs_memory=False)
def sched_yield(ctx, mem):
    return 0
