"""Python signal handlers while llvm code runs on the main thread.

CPython runs a Python-level signal handler only between bytecodes of the main thread. While the
main thread is inside llvm code (one ctypes call), a handler that calls `engine.increment_epoch()`
(or SIGINT's KeyboardInterrupt) would wait until the guest returns, which for a spinning guest is
never. Generated code with epoch interruption already polls the store's deadline slot, so the
relay makes that poll also notice a pending signal:

- `signal.set_wakeup_fd` makes CPython's C-level handler write a byte to our pipe (after it has
  marked the signal as tripped);
- a daemon thread blocked on the pipe sets the epoch cell of every engine the main thread runs
  wasm of to FORCED, a value no deadline reaches (native code keeps the deadline in a
  register, but reads the epoch cell at every check);
- the next epoch check takes the slow path into the runtime, a ctypes callback on the main thread,
  where CPython runs the pending handler before anything else; `consume` then gives the cells
  their epoch back, and the slow path compares the real epoch with the deadline
  (`StoreVM.epoch_deadline_reached`): it traps if the handler moved the epoch past it, else the
  guest goes on.

The relay re-forces the cells every millisecond until the main thread takes its slow path: an
`increment_epoch` racing with it may have overwritten FORCED. A slow path on another thread
leaves them forced; one that finds a cell forced when nothing is pending (the relay lost a race
with `consume`) restores it.

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
import time

_lock = threading.Lock()
_write_fd = -1   # our pipe's write end while it is the wakeup fd of this process
_owner_pid = -1  # the process that installed it (a fork child must install its own)


# Process-wide like the wakeup fd; they hold a StoreState only while its code runs (`running`)
# or until the main thread's next poll gives a forced cell back (`_forced`).
running: list = []  # (thread ident, StoreState) of epoch-enabled stores inside wasm, innermost last

FORCED = (1 << 64) - 1  # an epoch cell value at or past every deadline
RETRY_SECONDS = 0.001
_forced: dict = {}  # id(epoch cell) -> StoreState, cells forced until the main thread polls


def watch(state) -> None:
    """Relay signals to `state` (a StoreState with epochs on) while its code runs on the main
    thread (it is then in `running`)."""
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
        _force_until_polled()


def _main_thread_states() -> list:
    main = threading.main_thread().ident
    return [state for ident, state in list(running) if ident == main]


def _force_until_polled() -> None:
    for state in _main_thread_states():
        _forced[id(state.epoch_cell)] = state
        state.epoch_cell.value = FORCED
    while _forced:
        time.sleep(RETRY_SECONDS)
        if not _main_thread_states():
            # The main thread left wasm: its handlers run as it returns to Python.
            consume()
            return
        for state in list(_forced.values()):
            if state.epoch_cell.value != FORCED:
                state.epoch_cell.value = FORCED  # an increment_epoch overwrote it


def consume(state=None) -> None:
    """From an epoch check's slow path (and when the main thread left wasm): on the main thread
    the pending handlers have run by now, so the forced cells get their epoch back."""
    if _forced and (state is None or threading.get_ident() == threading.main_thread().ident):
        for forced in list(_forced.values()):
            _restore(forced)
        _forced.clear()
    elif state is not None and not _forced and state.epoch_cell.value == FORCED:
        _restore(state)


def _restore(state) -> None:
    """cell = the engine's epoch, without losing an increment that races with the write."""
    cell, counter = state.epoch_cell, state.epoch_counter
    while True:
        epoch = counter.value
        cell.value = epoch
        if counter.value == epoch:
            return


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
