"""poll_oneoff: clock subscriptions sleep; fd subscriptions on files/stdio are always ready."""

from __future__ import annotations

import os
import select
import struct
import time

from wasmcore.wasi.descriptors import DIRECTORY, FILE, STDIO

from ._errno import BADF, INVAL, WasiError
from ._registry import wasi
from .clock import _CLOCKS, now

_SUB = struct.Struct("<QB7xIxxxxQQH6x")  # userdata, tag, clock id, timeout, precision, flags
_EVENT = struct.Struct("<QHBxxxxxQH6x")  # userdata, error, type, nbytes, flags (32 bytes)


@wasi("poll_oneoff", "iiii")
def poll_oneoff(ctx, mem, in_ptr, out_ptr, nsubs, nevents_ptr):
    if nsubs == 0:
        raise WasiError(INVAL)
    mem.check(in_ptr, 48 * nsubs)
    mem.check(out_ptr, 32 * nsubs)
    mem.check(nevents_ptr, 4)
    subs = [mem.unpack(in_ptr + 48 * i, _SUB) for i in range(nsubs)]
    events = []
    clocks = []
    waiting_fds = []
    for userdata, tag, a, timeout, _precision, flags in subs:
        if tag == 0:
            if a not in _CLOCKS:
                events.append((userdata, INVAL, 0, 0, 0))
                continue
            deadline = timeout if flags & 1 else now(a) + timeout
            clocks.append((deadline, a, userdata))
        elif tag in (1, 2):
            fd = a
            entry = ctx.descriptors.lookup(fd)
            if entry is None:
                events.append((userdata, BADF, tag, 0, 0))
                continue
            nbytes = 0
            if entry.kind == FILE and tag == 1:
                try:
                    pos = os.lseek(entry.host_fd, 0, os.SEEK_CUR)
                    nbytes = max(0, os.fstat(entry.host_fd).st_size - pos)
                except OSError:
                    pass
                events.append((userdata, 0, tag, nbytes, 0))
            elif entry.kind == STDIO and tag == 1 and entry.stream.mode == "inherit" \
                    and entry.stream.host_fd is not None:
                waiting_fds.append((entry.stream.host_fd, userdata))
            elif entry.kind == STDIO and tag == 1 and entry.stream.mode == "bytes":
                buf = entry.stream.input
                nbytes = len(buf.getbuffer()) - buf.tell()
                events.append((userdata, 0, tag, nbytes, 0))
            elif entry.kind == DIRECTORY:
                events.append((userdata, BADF, tag, 0, 0))
            else:
                events.append((userdata, 0, tag, 0, 0))
        else:
            raise WasiError(INVAL)
    if not events:
        timeout_s = None
        if clocks:
            first = min(clocks)
            timeout_s = max(0, first[0] - now(first[1])) / 1e9
        if waiting_fds:
            ready, _, _ = select.select([f for f, _ in waiting_fds], [], [], timeout_s)
            for f, userdata in waiting_fds:
                if f in ready:
                    events.append((userdata, 0, 1, 1, 0))
        elif timeout_s:
            time.sleep(timeout_s)
        if not events:
            for deadline, clock_id, userdata in clocks:
                if now(clock_id) >= deadline:
                    events.append((userdata, 0, 0, 0, 0))
    for i, ev in enumerate(events):
        mem.pack(out_ptr + 32 * i, _EVENT, *ev)
    mem.store_u32(nevents_ptr, len(events))

