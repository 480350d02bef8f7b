"""Ahead-of-time artifacts and the compiled-code cache, on every backend: what is written loads
without compiling, and what does not match the engine is refused with a clear error."""

from __future__ import annotations

import json
import subprocess
import sys

import msgspec
import pytest

import wasmcore as w
from wasmcore.kernel import artifact as _artifact
from tests._shared import shared_dir

FIB = shared_dir() / "bench" / "wasm" / "fib.kernel.wasm"
ADD = '(module (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))'


def engine_for(backend, **settings):
    config = w.Config()
    config.backend = backend
    for name, value in settings.items():
        setattr(config, name, value)
    return w.Engine(config)


def run_fib(engine, module, n=20):
    store = w.Store(engine)
    exports = w.Instance(store, module, []).exports(store)
    exports["_initialize"](store)
    return exports["run"](store, n)


def test_precompiled_module_runs_like_the_original(backend, tmp_path):
    engine = engine_for(backend)
    artifact = engine.precompile_module(FIB.read_bytes())
    assert artifact.startswith(_artifact.MAGIC)
    loaded = w.Module.deserialize(engine, artifact)
    assert run_fib(engine, loaded) == 6765
    path = tmp_path / "fib.cwasm"
    path.write_bytes(w.Module.from_file(engine, FIB).serialize())
    assert run_fib(engine, w.Module.deserialize_file(engine, path)) == 6765


def test_artifact_loads_without_decoding_or_validating(backend, monkeypatch):
    engine = engine_for(backend)
    artifact = engine.precompile_module(ADD)
    monkeypatch.setattr(engine.plugins, "decode", lambda *a: pytest.fail("decoded again"))
    monkeypatch.setattr(engine.plugins, "validate", lambda *a: pytest.fail("validated again"))
    module = w.Module.deserialize(engine, artifact)
    store = w.Store(engine)
    assert w.Instance(store, module, []).exports(store)["add"](store, 2, 3) == 5


def rewrite_header(artifact: bytes, **changes) -> bytes:
    raw = msgspec.msgpack.decode(artifact[len(_artifact.MAGIC):])
    raw["header"].update(changes)
    return _artifact.MAGIC + msgspec.msgpack.encode(raw)


@pytest.mark.parametrize("field, value, message", [
    ("wasmcore_version", "0.0.1", "made by wasmcore '0.0.1'"),
    ("backend", "someone-else", "for backend 'someone-else'"),
    ("target", "riscv64-unknown-linux-gnu", "for target 'riscv64-unknown-linux-gnu'"),
    ("config_fingerprint", "0" * 16, "with settings"),
    ("format_version", 999, "format version 999"),
])
def test_mismatched_artifact_is_refused(backend, field, value, message):
    engine = engine_for(backend)
    artifact = rewrite_header(engine.precompile_module(ADD), **{field: value})
    with pytest.raises(w.WasmcoreError, match=message):
        w.Module.deserialize(engine, artifact)


def test_artifact_from_other_settings_is_refused(backend):
    artifact = engine_for(backend, max_wasm_stack=64 * 1024).precompile_module(ADD)
    with pytest.raises(w.WasmcoreError, match="fingerprint"):
        w.Module.deserialize(engine_for(backend), artifact)


@pytest.mark.parametrize("damage", ["truncated", "garbage", "not-an-artifact", "empty"])
def test_corrupt_artifact_is_an_error_not_a_crash(backend, damage):
    engine = engine_for(backend)
    artifact = engine.precompile_module(ADD)
    broken = {"truncated": artifact[:len(artifact) // 2],
              "garbage": _artifact.MAGIC + bytes(range(256)) * 4,
              "not-an-artifact": b"\0asm\x01\0\0\0",
              "empty": b""}[damage]
    with pytest.raises(w.WasmcoreError):
        w.Module.deserialize(engine, broken)


@pytest.mark.parametrize("triple, normal", [
    ("x86_64-linux", "x86_64-unknown-linux-gnu"),
    ("x86_64-unknown-linux-gnu", "x86_64-unknown-linux-gnu"),
    ("amd64-linux", "x86_64-unknown-linux-gnu"),
    ("aarch64-unknown-linux-gnu", "aarch64-unknown-linux-gnu"),
    ("arm64-apple-darwin", "aarch64-apple-darwin"),
    ("aarch64-linux-musl", "aarch64-unknown-linux-musl"),
])
def test_target_triples_are_normalized(triple, normal):
    assert _artifact.normalize_target(triple) == normal


def test_code_cache_skips_compilation_the_second_time(backend, tmp_path, monkeypatch):
    data = FIB.read_bytes()
    first_engine = engine_for(backend, cache=str(tmp_path))
    assert run_fib(first_engine, w.Module(first_engine, data)) == 6765
    entries = list(tmp_path.rglob("*.cwasm"))
    assert len(entries) == 1
    engine = engine_for(backend, cache=str(tmp_path))
    monkeypatch.setattr(engine.plugins, "decode", lambda *a: pytest.fail("cache missed"))
    assert run_fib(engine, w.Module(engine, data)) == 6765
    # other settings: another cache entry, not a wrong hit
    other = engine_for(backend, cache=str(tmp_path), max_wasm_stack=256 * 1024)
    assert run_fib(other, w.Module(other, data)) == 6765
    assert len(list(tmp_path.rglob("*.cwasm"))) == 2


def test_corrupt_cache_entry_is_recompiled_and_replaced(backend, tmp_path):
    engine = engine_for(backend, cache=str(tmp_path))
    w.Module(engine, ADD)
    (entry,) = tmp_path.rglob("*.cwasm")
    entry.write_bytes(b"WASMCORE\xc1broken")
    store = w.Store(engine)
    module = w.Module(engine, ADD)
    assert w.Instance(store, module, []).exports(store)["add"](store, 1, 2) == 3
    assert w.Module.deserialize(engine, entry.read_bytes()) is not None


def test_cache_config_file_names_the_directory(backend, tmp_path):
    directory = tmp_path / "compiled"
    config_file = tmp_path / "cache.toml"
    config_file.write_text(f'[cache]\ndirectory = "{directory}"\n')
    engine = engine_for(backend, cache=str(config_file))
    w.Module(engine, ADD)
    assert len(list(directory.rglob("*.cwasm"))) == 1


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "wasmcore", *map(str, args)], capture_output=True,
                          text=True, timeout=300)


def test_cli_compile_then_run(backend, tmp_path):
    spec = json.loads((shared_dir() / "bench" / "expected.json").read_text())["benchmarks"]["fib"]
    output = tmp_path / "fib.cwasm"
    result = run_cli("compile", "--backend", backend, shared_dir() / "bench" / spec["wasm"],
                     "-o", output)
    assert result.returncode == 0, result.stderr
    result = run_cli("run", "--backend", backend, output, spec["sizes"]["tiny"])
    assert (result.returncode, result.stdout) == (0, spec["stdout"]["tiny"])


def test_cli_compile_refuses_a_bad_target(tmp_path):
    source = tmp_path / "add.wat"
    source.write_text(ADD)
    result = run_cli("compile", "--target", "nonsense", source)
    assert result.returncode == 1 and result.stderr.startswith("error: ")
    assert "invalid target triple" in result.stderr
