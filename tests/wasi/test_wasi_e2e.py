"""WASI through the public API: fib.wasm and a small wasi-testsuite sample."""

from __future__ import annotations

import glob
import os

import pytest

import wasmcore
from wasmcore import ExitTrap, Linker, Module, Store, WasiConfig
from tests._shared import shared_dir
from tests.wasi.testsuite_runner import SUITES

FIB = str(shared_dir() / "bench" / "wasm" / "fib.wasm")
C_SUITE = SUITES[0]
AS_SUITE = SUITES[1]


@pytest.mark.skipif(not os.path.exists(FIB), reason="fib.wasm not available")
def test_fib_captured_stdout():
    engine = wasmcore.Engine()
    store = Store(engine)
    module = Module.from_file(engine, FIB)
    linker = Linker(engine)
    linker.define_wasi()
    cfg = WasiConfig()
    cfg.argv = ["fib", "22"]
    cfg.capture_stdout()
    store.set_wasi(cfg)
    instance = linker.instantiate(store, module)
    try:
        instance.exports(store)["_start"](store)
    except ExitTrap as exc:
        assert exc.code == 0
    assert cfg.stdout_captured == b"fib 22 17711\n"


def test_wasi_config_surface():
    from wasmcore import DirPerms, FilePerms
    cfg = WasiConfig()
    cfg.argv = ["a", "b"]
    assert cfg.argv == ["a", "b"]
    cfg.env = {"K": "V"}
    assert cfg.env == [("K", "V")]
    cfg.inherit_argv(), cfg.inherit_env(), cfg.inherit_stdin(), cfg.inherit_stdout()
    cfg.inherit_stderr()
    cfg.stdout_file = "/tmp/x"
    assert cfg.stdout_file == "/tmp/x"
    cfg.preopen_dir("/tmp", "/tmp", DirPerms.READ_ONLY, FilePerms.READ_ONLY)
    assert cfg.stdout_captured == b""


_SAMPLE = sorted(glob.glob(os.path.join(C_SUITE, "*.wasm")) +
                 glob.glob(os.path.join(AS_SUITE, "*.wasm")))


@pytest.mark.parametrize("wasm", _SAMPLE, ids=[os.path.basename(p) for p in _SAMPLE])
def test_wasi_testsuite_c_and_assemblyscript(wasm, engine):
    from .testsuite_runner import run_one
    ok, why = run_one(wasm, engine)
    assert ok, why


RUST_SUITE = SUITES[2]
_RUST = sorted(glob.glob(os.path.join(RUST_SUITE, "*.wasm")))


@pytest.mark.parametrize("wasm", _RUST, ids=[os.path.basename(p) for p in _RUST])
def test_wasi_testsuite_rust(wasm, engine):
    from .testsuite_runner import run_one
    ok, why = run_one(wasm, engine)
    assert ok, why


ECHO_WAT = """
(module
  (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 100))
    (i32.store (i32.const 4) (i32.const 50))
    (drop (call $read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
    (i32.store (i32.const 4) (i32.load (i32.const 8)))
    (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    (call $exit (i32.const 3))))
"""


def _run_echo(cfg):
    engine = wasmcore.Engine()
    store = Store(engine)
    linker = Linker(engine)
    linker.define_wasi()
    store.set_wasi(cfg)
    instance = linker.instantiate(store, Module(engine, ECHO_WAT))
    with pytest.raises(ExitTrap) as info:
        instance.exports(store)["_start"](store)
    return info.value.code


def test_stdin_bytes_to_captured_stdout():
    cfg = WasiConfig()
    cfg.stdin_bytes = b"echo me"
    cfg.capture_stdout()
    assert _run_echo(cfg) == 3
    assert cfg.stdout_captured == b"echo me"


def test_stdin_and_stdout_files(tmp_path):
    (tmp_path / "in").write_bytes(b"from a file")
    cfg = WasiConfig()
    cfg.stdin_file = str(tmp_path / "in")
    cfg.stdout_file = str(tmp_path / "out")
    assert _run_echo(cfg) == 3
    import gc
    gc.collect()
    assert (tmp_path / "out").read_bytes() == b"from a file"


def test_stdout_and_stderr_custom_callbacks(backend):
    """wasmtime-py's stdout_custom/stderr_custom: every write reaches the callback as bytes."""
    config = wasmcore.Config()
    config.backend = backend
    engine = wasmcore.Engine(config)
    store = Store(engine)
    module = Module(engine, '''(module
      (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1)
      (data (i32.const 16) "out!err")
      (func (export "_start")
        (i32.store (i32.const 0) (i32.const 16)) (i32.store (i32.const 4) (i32.const 4))
        (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 100)))
        (i32.store (i32.const 0) (i32.const 20)) (i32.store (i32.const 4) (i32.const 3))
        (drop (call $write (i32.const 2) (i32.const 0) (i32.const 1) (i32.const 104)))))''')
    linker = Linker(engine)
    linker.define_wasi()
    out, err = [], []
    cfg = WasiConfig()
    cfg.stdout_custom(out.append)
    cfg.stderr_custom(lambda data: err.append(data) or 1)  # consumes 1 byte only
    store.set_wasi(cfg)
    instance = linker.instantiate(store, module)
    instance.exports(store)["_start"](store)
    memory = instance.exports(store)["memory"]
    assert out == [b"out!"] and err == [b"err"]
    nwritten = memory.read(store, 100, 108)
    assert (nwritten[:4], nwritten[4:]) == ((4).to_bytes(4, "little"), (1).to_bytes(4, "little"))
    with pytest.raises(TypeError):
        cfg.stdout_custom("not callable")
