"""Python signal handlers while llvm code runs on the main thread.

CPython runs a Python-level signal handler only between bytecodes of the main thread. While the
main thread is inside llvm code (one ctypes call), a handler that calls `engine.increment_epoch()`
(or SIGINT's KeyboardInterrupt) would wait until the guest returns, which for a spinning guest is
never. Generated code with epoch interruption already polls the store's deadline slot, so the
relay makes that poll also notice a pending signal:

- `signal.set_wakeup_fd` makes CPython's C-level handler write a byte to our pipe (after it has
  marked the signal as tripped);
- a daemon thread blocked on the pipe sets the deadline slot of every epoch-enabled store to 0;
- the next epoch check takes the slow path into the runtime, a ctypes callback on the main thread,
  where CPython runs the pending handler before anything else; the slow path then re-reads the
  real deadline (`StoreVM.epoch_deadline_reached`): it traps if the handler moved the epoch past
  the deadline, else restores the slot and the guest goes on.

A handler's exception (KeyboardInterrupt) is raised as the callback's first Python frame starts,
before its own try block, so ctypes would report it as unraisable and return 0 to native code:
`_unraisable` takes it instead, makes it the pending exception of the store running on that
thread and sets the trap status, so the guest unwinds and the entry re-raises it.

The wakeup fd is process-wide: if someone else already owns it (asyncio's signal handling), the
relay stays out and a signal handler runs when the guest returns, as before.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import weakref

_stores: "weakref.WeakSet" = weakref.WeakSet()  # StoreStates with epoch checks
_lock = threading.Lock()
_write_fd = -1   # our pipe's write end while it is the wakeup fd of this process
_owner_pid = -1  # the process that installed it (a fork child must install its own)


running: list = []  # (thread ident, StoreState) of epoch-enabled stores inside wasm, innermost last


def watch(state) -> None:
    """Relay signals to `state` (a StoreState with epochs on) while its code runs."""
    _stores.add(state)
    ensure_installed()


def ensure_installed() -> bool:
    """Install the relay if this is the main thread and the wakeup fd is free; cheap when done."""
    global _write_fd, _owner_pid
    if _owner_pid == os.getpid():
        return True
    if threading.current_thread() is not threading.main_thread():
        return False  # set_wakeup_fd is main-thread only; a later entry from it retries
    with _lock:
        if _owner_pid == os.getpid():
            return True
        read_fd, write_fd = os.pipe()
        os.set_blocking(write_fd, False)  # the C handler must never block
        try:
            previous = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
        except (ValueError, OSError):
            os.close(read_fd)
            os.close(write_fd)
            return False
        if previous not in (-1, _write_fd):  # another owner (asyncio): give it back
            signal.set_wakeup_fd(previous)
            os.close(read_fd)
            os.close(write_fd)
            return False
        _write_fd, _owner_pid = write_fd, os.getpid()
        if not getattr(sys.unraisablehook, "wasmcore_llvm", False):
            hook = _make_unraisable_hook(sys.unraisablehook)
            hook.wasmcore_llvm = True
            sys.unraisablehook = hook
        threading.Thread(target=_relay, args=(read_fd,), name="wasmcore-llvm-signal-relay",
                         daemon=True).start()
        return True


def _relay(read_fd: int) -> None:
    while True:
        try:
            data = os.read(read_fd, 512)
        except InterruptedError:
            continue
        except OSError:
            return
        if not data:
            return
        for state in list(_stores):
            state.deadline_cell.value = 0  # the next epoch check enters Python


def _make_unraisable_hook(previous):
    def _unraisable(unraisable):
        message = unraisable.err_msg or ""
        if "ctypes callback" in message and unraisable.exc_value is not None:
            me = threading.get_ident()
            for ident, state in reversed(running):
                if ident == me:
                    from wasmcore_jit_llvm import _layout as L
                    if state.pending is None:
                        state.pending = unraisable.exc_value
                    state.shared[L.SH_TRAP] = L.STATUS_HOST_EXCEPTION
                    return
        previous(unraisable)
    return _unraisable
