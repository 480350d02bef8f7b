"""The CLI: `wasmcore plugins`, `wasmcore run --invoke`, clean one-line errors."""

import subprocess
import sys


def run_cli(*args, **kwargs):
    return subprocess.run([sys.executable, "-m", "wasmcore", *args], capture_output=True,
                          text=True, **kwargs)


def test_plugins_lists_builtins_and_backends():
    out = run_cli("plugins").stdout
    assert "wasmcore.binary" in out and "interp" in out and "wasmcore_compile" in out


def test_run_invoke(tmp_path, wat_to_binary):
    path = tmp_path / "add.wasm"
    path.write_bytes(wat_to_binary(
        '(module (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))'))
    result = run_cli("run", "--invoke", "add", str(path), "40", "2")
    assert result.returncode == 0 and result.stdout.strip() == "42"


def test_run_trap_exit_status(tmp_path, wat_to_binary):
    path = tmp_path / "trap.wasm"
    path.write_bytes(wat_to_binary('(module (func (export "_start") unreachable))'))
    result = run_cli("run", str(path))
    assert result.returncode == 134 and "unreachable" in result.stderr


def test_bad_input_is_one_line(tmp_path):
    path = tmp_path / "junk.wasm"
    path.write_bytes(b"\0asm\x02\0\0\0")
    result = run_cli("run", str(path))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "unknown binary version" in result.stderr


def test_unknown_backend_message(tmp_path):
    result = run_cli("run", "--backend", "nope", "x.wasm")
    assert result.returncode == 1 and "installed backends" in result.stderr


def test_ctrl_c_ends_a_spinning_guest_as_wasmtime_run(tmp_path, backend):
    """SIGINT kills `run` (status -SIGINT, no traceback) even while native code loops."""
    import signal
    import time

    path = tmp_path / "spin.wat"
    path.write_text('(module (func (export "_start") (loop (br 0))))')
    proc = subprocess.Popen([sys.executable, "-m", "wasmcore", "run", "--backend", backend,
                             str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(3)  # imports, compile, and into the loop
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == -signal.SIGINT
    assert b"Traceback" not in err


def test_run_caches_compiled_code_by_default_as_wasmtime(tmp_path, backend):
    path = tmp_path / "answer.wat"
    path.write_text('(module (func (export "answer") (result i32) i32.const 42))')
    cache = tmp_path / "cache"
    env = {**__import__("os").environ, "WASMCORE_CACHE_DIR": str(cache)}
    off = run_cli("run", "-C", "cache=n", "--backend", backend, "--invoke", "answer", str(path), env=env)
    assert off.returncode == 0 and off.stdout.strip() == "42"
    assert not cache.exists()
    for _ in range(2):  # the second run loads the artifact the first one wrote
        on = run_cli("run", "--backend", backend, "--invoke", "answer", str(path), env=env)
        assert on.returncode == 0 and on.stdout.strip() == "42"
        assert len(list(cache.rglob("*.cwasm"))) == 1
    elsewhere = tmp_path / "elsewhere"
    config = tmp_path / "cache.toml"
    config.write_text(f'[cache]\ndirectory = "{elsewhere}"\n')
    run_cli("run", "-C", f"cache-config={config}", "--backend", backend, "--invoke", "answer",
            str(path), env=env)
    assert len(list(elsewhere.rglob("*.cwasm"))) == 1
