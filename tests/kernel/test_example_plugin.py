"""The example third-party plugin (examples/hostcall_tracer), installed as a stranger would
install it, traces host calls on every backend without being a backend; and the conformance
plugin (`wasmcore.testing`) runs a slice of the spec suite with it installed, as a plugin author
runs it: `python -m pytest -p wasmcore.testing --pyargs wasmcore.conformance ...`."""

import json
import os
import subprocess
import sys

import pytest

import wasmcore
from wasmcore.kernel.plugins import PluginManager
from wasmcore.testing import installed_backends
from tests._shared import PROJECT_ROOT, importable_plugin, install_distribution, shared_dir

EXAMPLE = PROJECT_ROOT / "examples" / "hostcall_tracer"

# add(a, b) twice, scale(x) once, and fail() when asked: i32 and f64 arguments, one result,
# no result and a raising host function, so the backends' calling conventions all show.
WAT = """(module
  (import "env" "add" (func $add (param i32 i32) (result i32)))
  (import "env" "scale" (func $scale (param f64) (result f64)))
  (import "env" "fail" (func $fail))
  (func (export "run") (param i32) (result i32)
    (drop (call $scale (f64.const 1.5)))
    (call $add (call $add (local.get 0) (i32.const 1)) (i32.const -3)))
  (func (export "fail") (call $fail)))"""

F64_1_5, F64_3_0 = 0x3FF8000000000000, 0x4008000000000000


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    target = tmp_path_factory.mktemp("site")
    install_distribution(EXAMPLE, target)
    return target


@pytest.fixture(scope="module")
def tracer(site):
    yield from importable_plugin(site, "wasmcore_hostcall_tracer")


class Boom(Exception):
    pass


def _run(backend, settings: dict):
    config = wasmcore.Config()
    config.backend = backend
    for key, value in settings.items():
        config.set(f"hostcall_tracer.{key}", value)
    engine = wasmcore.Engine(config)
    store = wasmcore.Store(engine)
    linker = wasmcore.Linker(engine)
    i32, f64 = wasmcore.ValType.i32(), wasmcore.ValType.f64()

    def fail():
        raise Boom("no")

    linker.define_func("env", "add", wasmcore.FuncType([i32, i32], [i32]), lambda a, b: a + b)
    linker.define_func("env", "scale", wasmcore.FuncType([f64], [f64]), lambda x: x * 2)
    linker.define_func("env", "fail", wasmcore.FuncType([], []), fail)
    exports = linker.instantiate(store, wasmcore.Module(engine, WAT)).exports(store)
    assert exports["run"](store, 5) == 3
    with pytest.raises(Boom):
        exports["fail"](store)
    engine.close()
    return store


def test_tracer_is_a_plugin_but_not_a_backend(tracer):
    infos = {info.name: info for info in PluginManager().plugin_infos()}
    info = infos["hostcall_tracer"]
    assert (info.distribution, info.version) == ("wasmcore-hostcall-tracer", "0.1.0")
    assert "wasmcore_host_call" in info.hooks
    backends = installed_backends()
    assert backends and "hostcall_tracer" not in backends


def test_tracer_records_every_host_call(tracer, backend, tmp_path):
    output = tmp_path / "calls.jsonl"
    store = _run(backend, {"record": True, "output": str(output)})
    # the same trace on every backend: the bits convention, results as tuples
    expected = [("env", "scale", (F64_1_5,), (F64_3_0,), None),
                ("env", "add", (5, 1), (6,), None),
                ("env", "add", (6, 0xFFFFFFFD), (3,), None),
                ("env", "fail", (), (), "Boom('no')")]
    calls = tracer.traced_calls(store)
    assert [(c.module, c.name, c.args, c.result, c.error) for c in calls] == expected
    assert {c.backend for c in calls} == {backend}
    lines = [json.loads(line) for line in output.read_text().splitlines()]
    assert [(r["module"], r["name"], tuple(r["args"]), tuple(r["result"]), r.get("error"))
            for r in lines] == expected


def test_tracer_unconfigured_leaves_calls_alone(tracer, backend):
    store = _run(backend, {})
    assert tracer.traced_calls(store) == []


# --- the conformance plugin, run as a plugin author runs it --------------------------------


def _pytest(site, tmp_path, *args):
    """`python -m pytest -p wasmcore.testing --pyargs wasmcore.conformance ARGS` in tmp_path,
    importing what this process imports, plus the example plugin's site directory."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(site), *(p for p in sys.path if p)])
    env.pop("WASMCORE_SHARED", None)  # the plugin must be told (or find ../shared)
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "wasmcore.testing",
                           "-p", "no:cacheprovider", "--pyargs", "wasmcore.conformance", *args],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)


def test_conformance_slice_runs_on_every_backend_with_the_tracer(site, tmp_path):
    trace = tmp_path / "trace.jsonl"
    (tmp_path / "tracer.toml").write_text(f'[hostcall_tracer]\noutput = "{trace}"\n')
    result = _pytest(site, tmp_path, f"--wasmcore-shared={shared_dir()}",
                     "--wasmcore-suite=spec-1.0", "--wasmcore-config=tracer.toml",
                     "-k", "start.wast or fac.wast", "-v")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    backends = installed_backends()
    for backend in backends:
        for name in ("start.wast", "fac.wast"):
            assert f"test_spec_script[{backend}-wasm-1.0/{name}] PASSED" in result.stdout
    assert f"{2 * len(backends)} passed" in result.stdout
    assert "hostcall_tracer-" not in result.stdout
    # start.wast's start functions call spectest.print_i32(1) and (2), on each backend
    calls = [json.loads(line) for line in trace.read_text().splitlines()]
    for backend in backends:
        printed = [c["args"] for c in calls
                   if c["backend"] == backend and (c["module"], c["name"]) == ("spectest", "print_i32")]
        assert [1] in printed and [2] in printed, (backend, calls)


def test_conformance_without_shared_data_is_an_error(site, tmp_path):
    result = _pytest(site, tmp_path, f"--wasmcore-shared={tmp_path / 'missing'}")
    assert result.returncode != 0
    assert "shared data directory not found" in result.stdout
    assert " passed" not in result.stdout


def test_conformance_unknown_backend_is_a_usage_error(site, tmp_path):
    result = _pytest(site, tmp_path, f"--wasmcore-shared={shared_dir()}",
                     "--wasmcore-backend=hostcall_tracer")
    assert result.returncode == pytest.ExitCode.USAGE_ERROR
    assert "unknown backend 'hostcall_tracer'" in result.stderr
