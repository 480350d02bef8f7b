"""AOT artifacts of the llvm backend: the object code is saved and loaded without translating
or optimizing again, CPU features and foreign targets are refused clearly, and
cross-compilation writes an artifact for the other machine."""

from __future__ import annotations

import subprocess
import sys

import msgspec
import pytest

import wasmcore as w
from wasmcore.kernel import artifact as _artifact
from tests._shared import shared_dir

pytestmark = pytest.mark.skipif("llvm" not in w.Engine().plugins.backends(),
                                reason="the llvm backend is not installed")

FIB = shared_dir() / "bench" / "wasm" / "fib.kernel.wasm"
AARCH64 = "aarch64-unknown-linux-gnu"
ELF_MACHINE = {"x86_64": 62, "aarch64": 183}


def engine_for(**settings) -> w.Engine:
    config = w.Config()
    config.backend = "llvm"
    for name, value in settings.items():
        setattr(config, name, value)
    return w.Engine(config)


def decode(artifact: bytes) -> dict:
    return msgspec.msgpack.decode(artifact[len(_artifact.MAGIC):])


def run_fib(engine, module, n=20):
    store = w.Store(engine)
    exports = w.Instance(store, module, []).exports(store)
    exports["_initialize"](store)
    return exports["run"](store, n)


def object_machine(payload: bytes) -> int:
    from wasmcore_jit_llvm._compiled import Payload

    obj = msgspec.msgpack.decode(payload, type=Payload).object_code
    assert obj[:4] == b"\x7fELF"
    return int.from_bytes(obj[18:20], "little")


def test_artifact_carries_object_code_and_loads_without_compiling(monkeypatch):
    import llvmlite.binding as llvm
    from wasmcore_jit_llvm import _compiled

    engine = engine_for()
    artifact = engine.precompile_module(FIB.read_bytes())
    raw = decode(artifact)
    host_arch = _artifact.host_target().split("-")[0]
    assert raw["header"]["target"] == _artifact.host_target()
    assert raw["header"]["cpu_features"] == llvm.get_host_cpu_features().flatten()
    if host_arch in ELF_MACHINE and sys.platform.startswith("linux"):
        assert object_machine(raw["payload"]) == ELF_MACHINE[host_arch]

    def no(*args, **kwargs):
        pytest.fail("compiled again while loading an artifact")

    monkeypatch.setattr(_compiled, "ModuleTranslator", no)
    monkeypatch.setattr(llvm, "create_pass_builder", no)
    monkeypatch.setattr(engine.plugins, "compile", no)
    module = w.Module.deserialize(engine, artifact)
    assert run_fib(engine, module) == 6765
    regions = module._compiled.code_regions()
    assert regions and all(r.address and r.size >= 0 for r in regions)
    # serializing a loaded module writes the same code again
    assert decode(module.serialize())["payload"] == raw["payload"]


def test_artifact_runs_in_another_process(tmp_path):
    path = tmp_path / "fib.cwasm"
    path.write_bytes(engine_for().precompile_module(FIB.read_bytes()))
    script = (
        "import sys, wasmcore as w\n"
        "from wasmcore_jit_llvm import _compiled\n"
        "_compiled.ModuleTranslator = None  # loading must not translate\n"
        "c = w.Config(); c.backend = 'llvm'; e = w.Engine(c)\n"
        "m = w.Module.deserialize_file(e, sys.argv[1]); s = w.Store(e)\n"
        "x = w.Instance(s, m, []).exports(s); x['_initialize'](s); print(x['run'](s, 25))\n")
    result = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True,
                            text=True, timeout=120)
    assert (result.returncode, result.stdout.strip()) == (0, "75025"), result.stderr


def test_artifact_needing_missing_cpu_features_is_refused():
    engine = engine_for()
    raw = decode(engine.precompile_module(FIB.read_bytes()))
    raw["header"]["cpu_features"] += ",+no-such-feature-xyz"
    with pytest.raises(w.WasmcoreError, match="CPU features this host lacks: no-such-feature-xyz"):
        w.Module.deserialize(engine, _artifact.MAGIC + msgspec.msgpack.encode(raw))


def test_corrupt_payload_is_an_error():
    engine = engine_for()
    raw = decode(engine.precompile_module(FIB.read_bytes()))
    raw["payload"] = b"\x93garbage"
    with pytest.raises(w.WasmcoreError, match="corrupt llvm artifact payload"):
        w.Module.deserialize(engine, _artifact.MAGIC + msgspec.msgpack.encode(raw))


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty", "one-bit"])
def test_damaged_object_code_is_an_error_not_a_crash(damage):
    from wasmcore_jit_llvm._compiled import Payload

    engine = engine_for()
    raw = decode(engine.precompile_module(FIB.read_bytes()))
    payload = msgspec.msgpack.decode(raw["payload"], type=Payload)
    code = payload.object_code
    code = {"garbage": b"garbage" * 10, "truncated": code[:len(code) // 2], "empty": b"",
            "one-bit": code[:100] + bytes([code[100] ^ 1]) + code[101:]}[damage]
    raw["payload"] = msgspec.msgpack.encode(msgspec.structs.replace(payload, object_code=code))
    with pytest.raises(w.WasmcoreError, match="corrupt llvm artifact payload"):
        w.Module.deserialize(engine, _artifact.MAGIC + msgspec.msgpack.encode(raw))


def test_cross_compiled_artifact_is_for_the_other_target():
    if _artifact.host_target() == AARCH64:
        pytest.skip("the host is aarch64")
    cross = engine_for(target="aarch64-linux")
    artifact = cross.precompile_module(FIB.read_bytes())
    raw = decode(artifact)
    assert raw["header"]["target"] == AARCH64
    assert raw["header"]["cpu_features"] == ""
    assert object_machine(raw["payload"]) == ELF_MACHINE["aarch64"]
    with pytest.raises(w.WasmcoreError, match=f"made for target '{AARCH64}'"):
        w.Module.deserialize(engine_for(), artifact)
    # an engine for that target reads it, but this host cannot run it
    module = w.Module.deserialize(cross, artifact)
    with pytest.raises(w.WasmcoreError, match=f"compiled for {AARCH64}; it cannot be instantiated"):
        w.Instance(w.Store(cross), module, [])
    with pytest.raises(w.WasmcoreError, match="cannot be instantiated"):
        w.Instance(w.Store(cross), w.Module(cross, FIB.read_bytes()), [])


def test_explicit_host_target_artifact_runs():
    host = _artifact.host_target()
    engine = engine_for(target=host)
    artifact = engine.precompile_module(FIB.read_bytes())
    assert decode(artifact)["header"]["target"] == host
    assert run_fib(engine, w.Module.deserialize(engine, artifact)) == 6765


def test_cli_cross_compile(tmp_path):
    if _artifact.host_target() == AARCH64:
        pytest.skip("the host is aarch64")
    output = tmp_path / "fib.cwasm"
    result = subprocess.run([sys.executable, "-m", "wasmcore", "compile", "--backend", "llvm",
                             "--target", "aarch64-linux", str(FIB), "-o", str(output)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert decode(output.read_bytes())["header"]["target"] == AARCH64
    result = subprocess.run([sys.executable, "-m", "wasmcore", "run", "--backend", "llvm",
                             str(output), "5"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and AARCH64 in result.stderr


def test_fuel_checks_survive_the_artifact(monkeypatch):
    from wasmcore_jit_llvm import _compiled

    engine = engine_for(consume_fuel=True)
    artifact = engine.precompile_module('(module (func (export "spin") (loop br 0)))')
    monkeypatch.setattr(_compiled, "ModuleTranslator", None)  # loading must not translate
    module = w.Module.deserialize(engine, artifact)
    store = w.Store(engine)
    store.set_fuel(1000)
    with pytest.raises(w.Trap, match="fuel"):
        w.Instance(store, module, []).exports(store)["spin"](store)


def test_epoch_checks_survive_the_artifact(monkeypatch):
    """A loaded artifact checks the deadline on entering a function without an entry check of
    its own (one that makes no calls) as a compiled one does, and interrupts a loop."""
    from wasmcore_jit_llvm import _compiled

    engine = engine_for(epoch_interruption=True)
    artifact = engine.precompile_module('''(module
      (func (export "seven") (result i32) (i32.const 7))
      (func (export "spin") (loop br 0)))''')
    monkeypatch.setattr(_compiled, "ModuleTranslator", None)  # loading must not translate
    module = w.Module.deserialize(engine, artifact)
    store = w.Store(engine)
    exports = w.Instance(store, module, []).exports(store)
    with pytest.raises(w.Trap, match="interrupt"):
        exports["seven"](store)  # no deadline set: wasmtime traps at once
    store.set_epoch_deadline(1)
    assert exports["seven"](store) == 7
    engine.increment_epoch()
    with pytest.raises(w.Trap, match="interrupt"):
        exports["spin"](store)
