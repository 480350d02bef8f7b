"""One measurement in a fresh process: `python -m benchmarks.child '<job json>'` prints one JSON
line. A process per measurement keeps engines from sharing caches or heap, contains crashes and
gives each measurement its own peak RSS (read by the parent with wait4)."""

from __future__ import annotations

import functools
import io
import json
import sys
import time
from pathlib import Path

# (module (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))
ADD_WASM = bytes.fromhex("0061736d0100000001070160027f7f017f030201000707010361646400000a09010700200020016a0b")


def host_add(a: int, b: int) -> int:
    """env.host_add of hostcall.wasm: wrapping i32 add, returned as a signed i32."""
    r = (a + b) & 0xFFFFFFFF
    return r - (1 << 32) if r & 0x80000000 else r


# Resource controls of the overhead section. The budget and the deadline are large enough never
# to run out, so what is measured is the cost of the checks alone (both APIs as wasmtime-py's).
CONTROLS = ("plain", "fuel", "epochs")
FUEL = 2**62
EPOCH_DEADLINE = 2**40


def configure(config, control: str) -> None:
    if control not in CONTROLS:
        raise ValueError(f"unknown resource control {control!r} (expected one of {CONTROLS})")
    if control == "fuel":
        config.consume_fuel = True
    elif control == "epochs":
        config.epoch_interruption = True


def arm(store, control: str) -> None:
    if control == "fuel":
        store.set_fuel(FUEL)
    elif control == "epochs":
        store.set_epoch_deadline(EPOCH_DEADLINE)


class Wasmcore:
    def __init__(self, backend: str, control: str = "plain"):
        import wasmcore

        self.api = wasmcore
        config = wasmcore.Config()
        config.backend = backend
        configure(config, control)
        self.engine = wasmcore.Engine(config)
        self.store = wasmcore.Store(self.engine)
        arm(self.store, control)

    def validate(self, data: bytes) -> bool:
        self.api.Module.validate(self.engine, data)
        return True

    def compile(self, data: bytes):
        return self.api.Module(self.engine, data)

    def instantiate(self, module, with_host: bool):
        api = self.api
        imports = []
        if with_host:
            imports = [api.Func(self.store, api.FuncType([api.ValType.i32()] * 2, [api.ValType.i32()]), host_add)]
        exports = api.Instance(self.store, module, imports).exports(self.store)
        # resolved once: wasmtime-py builds a new Func object on every exports[name]
        return lambda name: functools.partial(exports[name], self.store)


class Wasmtime(Wasmcore):
    def __init__(self, pulley: bool, control: str = "plain"):
        import wasmtime

        self.api = wasmtime
        config = wasmtime.Config()
        if pulley:
            config.target = "pulley64"  # wasmtime's portable interpreter instead of Cranelift
        configure(config, control)
        self.engine = wasmtime.Engine(config)
        self.store = wasmtime.Store(self.engine)
        arm(self.store, control)


class Pywasm:
    def __init__(self):
        import pywasm

        self.api = pywasm
        self.runtime = pywasm.Runtime()

    def validate(self, data: bytes) -> bool:
        return False  # pywasm has no validator: this phase does not exist for it

    def compile(self, data: bytes):
        return self.api.ModuleDesc.from_reader(io.BytesIO(data))  # decoding is all it does

    def instantiate(self, module, with_host: bool):
        pw, rt = self.api, self.runtime
        if with_host:
            i32 = pw.ValType.i32()
            rt.imports["env"] = {"host_add": rt.allocate_func_host(
                pw.FuncType([i32, i32], [i32]), lambda machine, args: [host_add(*args)])}
        inst = rt.instance(module)
        # pywasm takes the arguments as a list and returns a list of results
        return lambda name: (lambda *args: next(iter(rt.invocate(inst, name, list(args))), None))


def make_engine(name: str, control: str = "plain"):
    if name.startswith("wasmcore-"):
        return Wasmcore(name.removeprefix("wasmcore-"), control)
    if name == "wasmtime-py":
        return Wasmtime(pulley=False, control=control)
    if name == "wasmtime-py-pulley":
        return Wasmtime(pulley=True, control=control)
    if name == "pywasm":
        if control != "plain":
            raise ValueError(f"pywasm has no resource controls ({control!r})")
        return Pywasm()
    raise ValueError(f"unknown engine {name!r}")


def kernel(job: dict, engine, phases: dict) -> dict:
    """validate, compile, instantiate (+ _initialize), run(N): each phase timed on its own."""
    data = Path(job["path"]).read_bytes()
    t = time.perf_counter()
    if engine.validate(data):
        phases["validate"] = time.perf_counter() - t
    t = time.perf_counter()
    module = engine.compile(data)
    phases["compile"] = time.perf_counter() - t
    if job.get("compile_only"):
        return {}
    t = time.perf_counter()
    export = engine.instantiate(module, job.get("host", False))
    if job["initialize"]:
        export("_initialize")()
    phases["instantiate"] = time.perf_counter() - t
    func = export(job["export"])
    fuel = job.get("control") == "fuel"
    before = engine.store.get_fuel() if fuel else 0
    t = time.perf_counter()
    result = func(job["n"])
    phases["run"] = time.perf_counter() - t
    out = {"result": result & 0xFFFFFFFF}
    if fuel:  # evidence that fuel was really metered (0 would mean the checks were compiled out)
        out["fuel_used"] = before - engine.store.get_fuel()
    return out


def calls(job: dict, engine, phases: dict) -> dict:
    """Python->wasm: a loop calling a 2-argument add export, for at least 0.2 s."""
    add = engine.instantiate(engine.compile(ADD_WASM), False)("add")
    if add(1, 2) != 3:
        return {"result": add(1, 2), "expected_add": 3}
    count, started = 0, time.perf_counter()
    while True:
        for _ in range(200):
            add(1, 2)
        count += 200
        elapsed = time.perf_counter() - started
        if elapsed > 0.2:
            break
    phases["python_to_wasm_us"] = elapsed / count * 1e6
    return {}


def run_job(job: dict) -> dict:
    phases: dict[str, float] = {}
    try:
        engine = make_engine(job["engine"], job.get("control", "plain"))
        if job["job"] == "idle":
            out = {}
        elif job["job"] == "calls":
            out = calls(job, engine, phases)
        else:
            out = kernel(job, engine, phases)
        return {"status": "ok", "phases": phases, **out}
    except Exception as error:  # reported in the results, never a crash of the harness
        return {"status": "error", "phases": phases, "error": f"{type(error).__name__}: {error}"[:500]}


def main() -> int:
    job = json.loads(sys.argv[1])
    out = run_job(job)
    sys.stdout.write("\n" + json.dumps(out) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
