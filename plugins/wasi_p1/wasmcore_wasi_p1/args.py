"""args_* and environ_*."""

from ._registry import wasi


def _sizes(mem, items, count_ptr, size_ptr):
    mem.store_u32(count_ptr, len(items))
    mem.store_u32(size_ptr, sum(len(a) + 1 for a in items))


def _get(mem, items, ptrs, buf):
    mem.check(ptrs, 4 * len(items))
    mem.check(buf, sum(len(a) + 1 for a in items))
    for i, item in enumerate(items):
        mem.store_u32(ptrs + 4 * i, buf)
        mem.write(buf, item + b"\0")
        buf += len(item) + 1


@wasi("args_sizes_get", "ii")
def args_sizes_get(ctx, mem, argc_ptr, size_ptr):
    _sizes(mem, ctx.argv, argc_ptr, size_ptr)


@wasi("args_get", "ii")
def args_get(ctx, mem, argv, buf):
    _get(mem, ctx.argv, argv, buf)


@wasi("environ_sizes_get", "ii")
def environ_sizes_get(ctx, mem, count_ptr, size_ptr):
    _sizes(mem, ctx.env, count_ptr, size_ptr)


@wasi("environ_get", "ii")
def environ_get(ctx, mem, environ, buf):
    _get(mem, ctx.env, environ, buf)
