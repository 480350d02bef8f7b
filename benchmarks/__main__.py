"""`python -m benchmarks [--size tiny] [--repeat 3]`: run time of the shared bench kernels on
every wasmcore backend, wasmtime-py and pywasm (the pure-Python peer), interleaved (A B A B),
medians reported, every result checked against expected.json; plus decode+validate throughput
and call costs. Prints a Markdown table; `--json FILE` writes the raw numbers."""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from pathlib import Path

import wasmcore
from wasmcore._plugins import PluginManager

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests._shared import shared_dir  # noqa: E402  (the one way to reach the shared data)

SKIP = {"hostcall"}  # measured separately as the host-call cost


def kernels(bench: Path, size: str):
    expected = json.loads((bench / "expected.json").read_text())["benchmarks"]
    for name, spec in expected.items():
        if name in SKIP or spec.get("kind") not in ("c", "wat"):
            continue
        if spec["kind"] == "c":
            yield name, bench / spec["kernel"], "run", spec["sizes"][size], spec["checksum"][size], True
        else:
            yield name, bench / spec["wasm"], spec["export"], spec["sizes"][size], spec["result"][size], False


def run_wasmcore(backend: str):
    def runner(path: Path, export: str, n: int, initialize: bool) -> tuple[int, float]:
        config = wasmcore.Config()
        config.backend = backend
        engine = wasmcore.Engine(config)
        store = wasmcore.Store(engine)
        exports = wasmcore.Instance(store, wasmcore.Module.from_file(engine, path), []).exports(store)
        if initialize:
            exports["_initialize"](store)
        started = time.perf_counter()
        result = exports[export](store, n)
        return result & 0xFFFFFFFF, time.perf_counter() - started
    return runner


def run_wasmtime(path: Path, export: str, n: int, initialize: bool) -> tuple[int, float]:
    import wasmtime

    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    exports = wasmtime.Instance(store, wasmtime.Module.from_file(engine, str(path)), []).exports(store)
    if initialize:
        exports["_initialize"](store)
    started = time.perf_counter()
    result = exports[export](store, n)
    return result & 0xFFFFFFFF, time.perf_counter() - started


def run_pywasm(path: Path, export: str, n: int, initialize: bool) -> tuple[int, float]:
    import pywasm

    runtime = pywasm.Runtime()
    module = runtime.instance_from_file(str(path))
    if initialize:
        runtime.invocate(module, "_initialize", [])
    started = time.perf_counter()
    result = runtime.invocate(module, export, [n])[0]
    return result & 0xFFFFFFFF, time.perf_counter() - started


def geomean(values):
    values = [v for v in values if v]
    return math.exp(sum(map(math.log, values)) / len(values)) if values else float("nan")


def call_costs() -> dict[str, float]:
    """Python->wasm call of a tiny export and wasm->Python host calls, in microseconds."""
    import wasmtime

    add = '(module (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))'
    costs = {}
    for label, api in (("wasmcore", wasmcore), ("wasmtime-py", wasmtime)):
        engine = api.Engine()
        store = api.Store(engine)
        module = api.Module(engine, api.wat2wasm(add) if label == "wasmtime-py" else wasmtime.wat2wasm(add))
        func = api.Instance(store, module, []).exports(store)["add"]
        n = 20000
        started = time.perf_counter()
        for _ in range(n):
            func(store, 1, 2)
        costs[f"python->wasm call, {label} (us)"] = (time.perf_counter() - started) / n * 1e6
        host = api.Func(store, api.FuncType([api.ValType.i32()] * 2, [api.ValType.i32()]),
                        lambda a, b: (a + b) & 0x7FFFFFFF)
        bench = shared_dir() / "bench"
        hostcall = api.Module.from_file(engine, str(bench / "wasm" / "hostcall.wasm"))
        run = api.Instance(store, hostcall, [host]).exports(store)["run"]
        calls = 20000
        started = time.perf_counter()
        run(store, calls)
        costs[f"wasm->python host call, {label} (us)"] = (time.perf_counter() - started) / calls * 1e6
    return costs


def decode_throughput() -> float:
    from wasmcore.binary import decode_module
    from wasmcore.valid import validate_module

    data = (shared_dir() / "bench" / "wasm" / "bigmodule.wasm").read_bytes()
    best = float("inf")
    for _ in range(7):  # best of 7: the first runs pay for warming up the interpreter
        started = time.perf_counter()
        validate_module(decode_module(data))
        best = min(best, time.perf_counter() - started)
    return len(data) / best / 1e6


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--size", default="tiny", choices=["tiny", "small", "large"])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="tiny size, one repetition")
    parser.add_argument("--no-pywasm", action="store_true")
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args(argv)
    if args.quick:
        args.size, args.repeat = "tiny", 1
    engines = {f"wasmcore-{b}": run_wasmcore(b) for b in PluginManager().backends()}
    engines["wasmtime-py"] = run_wasmtime
    if not args.no_pywasm and args.size == "tiny":
        engines["pywasm"] = run_pywasm
    rows, wrong = {}, []
    for name, path, export, n, expected, initialize in kernels(shared_dir() / "bench", args.size):
        samples: dict[str, list[float]] = {label: [] for label in engines}
        for _ in range(args.repeat):  # interleaved: every engine once per round
            for label, runner in engines.items():
                result, seconds = runner(path, export, n, initialize)
                if result != expected:
                    wrong.append(f"{name} on {label}: {result} != {expected}")
                samples[label].append(seconds)
        rows[name] = {label: statistics.median(s) for label, s in samples.items()}
    labels = list(engines)
    print(f"## Run time, size {args.size}, median of {args.repeat} (seconds; ratio to wasmtime-py)\n")
    print("| benchmark | " + " | ".join(labels) + " |")
    print("|---" * (len(labels) + 1) + "|")
    for name, times in rows.items():
        base = times["wasmtime-py"]
        print(f"| {name} | " + " | ".join(f"{times[l]:.4f} ({times[l] / base:.0f}x)" for l in labels) + " |")
    means = {l: geomean([rows[n][l] / rows[n]["wasmtime-py"] for n in rows]) for l in labels}
    print("| **geomean ratio** | " + " | ".join(f"{means[l]:.1f}x" for l in labels) + " |")
    if "pywasm" in means:
        for label in labels:
            if label.startswith("wasmcore"):
                print(f"\n{label} is {means['pywasm'] / means[label]:.0f}x faster than pywasm (geomean).")
    extra = {"decode+validate bigmodule.wasm (MB/s)": decode_throughput(), **call_costs()}
    print()
    for key, value in extra.items():
        print(f"- {key}: {value:.2f}")
    if wrong:
        print("\nWRONG RESULTS:\n" + "\n".join(wrong))
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "geomean": means, **extra}, indent=1))
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
