"""clock_res_get, clock_time_get."""

import time

from ._errno import INVAL
from ._registry import wasi

_CLOCKS = {0: time.CLOCK_REALTIME, 1: time.CLOCK_MONOTONIC,
           2: getattr(time, "CLOCK_PROCESS_CPUTIME_ID", time.CLOCK_MONOTONIC),
           3: getattr(time, "CLOCK_THREAD_CPUTIME_ID", time.CLOCK_MONOTONIC)}


def now(clock_id: int) -> int:
    return time.clock_gettime_ns(_CLOCKS[clock_id])


@wasi("clock_res_get", "ii")
def clock_res_get(ctx, mem, clock_id, res_ptr):
    if clock_id not in _CLOCKS:
        return INVAL
    try:
        res = int(time.clock_getres(_CLOCKS[clock_id]) * 1e9) or 1
    except OSError:
        res = 1
    mem.store_u64(res_ptr, res)


@wasi("clock_time_get", "iIi")
def clock_time_get(ctx, mem, clock_id, precision, time_ptr):
    if clock_id not in _CLOCKS:
        return INVAL
    mem.store_u64(time_ptr, now(clock_id))
