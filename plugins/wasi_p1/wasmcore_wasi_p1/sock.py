"""sock_*: no sockets are ever handed to the guest, so a valid fd is NOTSOCK, else BADF."""

from ._errno import BADF, NOTSOCK
from ._registry import wasi


def _check(ctx, fd):
    return NOTSOCK if fd in ctx.descriptors else BADF


@wasi("sock_accept", "iii", needs_memory=False)
def sock_accept(ctx, mem, fd, flags, fd_ptr):
    return _check(ctx, fd)


@wasi("sock_recv", "iiiiii", needs_memory=False)
def sock_recv(ctx, mem, fd, ri_data, ri_len, ri_flags, ro_len_ptr, ro_flags_ptr):
    return _check(ctx, fd)


@wasi("sock_send", "iiiii", needs_memory=False)
def sock_send(ctx, mem, fd, si_data, si_len, si_flags, so_len_ptr):
    return _check(ctx, fd)


@wasi("sock_shutdown", "ii", needs_memory=False)
def sock_shutdown(ctx, mem, fd, how):
    return _check(ctx, fd)
