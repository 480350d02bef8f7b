"""`wasmcore run --fuel N` / `--timeout DURATION` (and the `-W fuel=`, `-W timeout=` forms)."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from tests._shared import PROJECT_ROOT

SPIN = '(module (func (export "_start") (loop (br 0))) (func (export "ok") (result i32) (i32.const 42)))'


def run(tmp_path, *args):
    path = tmp_path / "spin.wat"
    path.write_text(SPIN)
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "wasmcore", "run", *args, str(path)],
                          capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=120)
    return proc, time.perf_counter() - started


@pytest.mark.parametrize("args", [("--fuel", "10000"), ("-W", "fuel=10000")])
def test_fuel_stops_an_infinite_loop(tmp_path, args):
    proc, _ = run(tmp_path, *args)
    assert proc.returncode == 134, proc.stderr
    assert "all fuel consumed by WebAssembly" in proc.stderr


@pytest.mark.parametrize("args", [("--timeout", "300ms"), ("-W", "timeout=0.3s")])
def test_timeout_interrupts_an_infinite_loop(tmp_path, args):
    proc, elapsed = run(tmp_path, *args)
    assert proc.returncode == 134, proc.stderr
    assert "wasm trap: interrupt" in proc.stderr
    assert elapsed < 60


def test_enough_fuel_lets_a_call_finish(tmp_path):
    proc, _ = run(tmp_path, "--fuel", "100", "--invoke", "ok")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "42"


@pytest.mark.parametrize("args, message", [(("--fuel", "lots"), "invalid value for fuel"),
                                           (("--timeout", "soon"), "invalid duration")])
def test_bad_values_are_one_line_errors(tmp_path, args, message):
    proc, _ = run(tmp_path, *args)
    assert proc.returncode == 1
    assert message in proc.stderr
