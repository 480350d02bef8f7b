"""The benchmark harness keeps working: `python -m benchmarks --quick` in a subprocess, every
result checked (correct answer, expected engines and sections present), plus the checks that
make a wrong answer show as WRONG rather than as a time."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest

from benchmarks import corpus, harness, report
from tests._shared import PROJECT_ROOT, shared_dir
from wasmcore.kernel.plugins import PluginManager


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    proc = subprocess.run([sys.executable, "-m", "benchmarks", "--quick", "--json", str(out / "r.json"),
                           "--chart", str(out / "r.svg")],
                          cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads((out / "r.json").read_text()), proc.stdout, (out / "r.svg").read_text()


def test_every_result_is_correct(quick):
    data, _, _ = quick
    for r in data["results"]:
        # unsupported is allowed only where the program needs a proposal (SIMD builds)
        allowed = {"ok", "unsupported"} if data["benchmarks"].get(r["benchmark"], {}).get("features") else {"ok"}
        assert r["status"] in allowed, (r["section"], r["benchmark"], r["engine"], r["samples"])
        if r["status"] == "ok" and r["section"] in ("run", "process"):
            assert all(v > 0 for v in r["median"].values()), r
            assert r["peak_rss_mb"] and r["peak_rss_mb"] > 0


def test_expected_engines_and_benchmarks_present(quick):
    data, _, _ = quick
    engines = {f"wasmcore-{b}" for b in PluginManager().backends()} | {"wasmtime-py"}
    expected = json.loads((shared_dir() / "bench" / "expected.json").read_text())["benchmarks"]
    names = {n for n, s in expected.items() if s["kind"] in ("c", "wat") and n != "hostcall"}
    ran = {(r["benchmark"], r["engine"]) for r in data["results"] if r["section"] == "run" and r["size"] == "tiny"}
    for engine in engines:
        assert {b for b, e in ran if e == engine} >= names, engine
    by_section = {}
    for r in data["results"]:
        by_section.setdefault(r["section"], set()).add(r["engine"])
    for section in ("calls", "hostcall", "idle"):
        assert by_section[section] >= engines, section
    assert "wasmtime-py" in by_section["load"]  # bigmodule: --quick leaves out the wasmcore backends
    process = {f"wasmcore-{b} run" for b in PluginManager().backends()}
    if importlib.util.find_spec("wasmtime_cli"):
        process.add("wasmtime run")
    assert by_section["process"] >= process


def test_markdown_and_chart(quick):
    data, stdout, svg = quick
    assert "### Run phase, size tiny" in stdout and "geomean ratio, C programs" in stdout
    assert "### Whole process, size tiny" in stdout and "Call costs" in stdout
    assert svg.startswith("<svg") and svg.count("<rect") > len(data["benchmarks"])
    assert report.markdown(data) == stdout.rstrip("\n") + "\n"  # --from-json renders the same


def test_wrong_answer_is_reported_not_timed(tmp_path):
    bench = next(b for b in corpus.load(native=False, simd=False) if b.name == "fib")
    bench.expected = {**bench.expected, "tiny": bench.expected["tiny"] + 1}
    engine = harness.Engine("wasmtime-py", "kernel", "large", "")
    sample = harness.measure_kernel(engine, bench, "tiny", timeout=120)
    assert sample["status"] == "wrong" and sample["result"] == bench.expected["tiny"] - 1
    record = {"section": "run", "benchmark": "fib", "size": "tiny", "n": 22, "engine": "wasmtime-py",
              "samples": [sample]}
    record["status"], record["median"], record["peak_rss_mb"] = harness.summarize([sample])
    assert record["status"] == "wrong" and record["median"] == {}
    data = {"engines": {"wasmtime-py": {"mode": "kernel"}}, "benchmarks": {"fib": {"kind": "c"}},
            "results": [record]}
    assert "**WRONG**" in report.ratio_table(data, "run", "tiny", "run", "wasmtime-py")
    assert report.failures(data) == [record]


def test_error_on_a_simd_program_is_unsupported_elsewhere_an_error():
    bench = corpus.Benchmark("x-simd", "c", PROJECT_ROOT, "run", True, {}, {}, features=("simd",))
    plain = corpus.Benchmark("x", "c", PROJECT_ROOT, "run", True, {}, {})
    refused = {"status": "error", "phases": {"validate": 0.1}, "error": "DecodeError: bad opcode 0xfd"}
    late = {"status": "error", "phases": {"validate": 0.1, "compile": 0.1}, "error": "Trap: unreachable"}
    assert harness.classify_error(dict(refused), bench, True)["status"] == "unsupported"
    assert harness.classify_error(dict(late), bench, False)["status"] == "error"
    assert harness.classify_error(dict(refused), plain, True)["status"] == "error"


def test_overhead_section(quick):
    """--quick runs the fuel/epoch overhead on its two kernels for every wasmcore backend and
    wasmtime-py, all three configurations, with correct answers and fuel really metered."""
    data, stdout, _ = quick
    from benchmarks.cli import QUICK_OVERHEAD

    got = {(r["engine"], r["benchmark"], r["control"]): r for r in data["results"] if r["section"] == "overhead"}
    expected = {b.name: b.expected["tiny"] for b in corpus.load(native=False, simd=False)}
    engines = [f"wasmcore-{b}" for b in PluginManager().backends()] + ["wasmtime-py"]
    for engine in engines:
        for bench in QUICK_OVERHEAD:
            for control in ("plain", "fuel", "epochs"):
                r = got[(engine, bench, control)]
                assert r["status"] == "ok" and r["size"] == "tiny", r
                assert r["median"]["run"] > 0
                assert all(s["result"] == expected[bench] for s in r["samples"]), r
            fuel = got[(engine, bench, "fuel")]["samples"]
            assert all(s["fuel_used"] > 0 for s in fuel), fuel
    # one operator, one unit of fuel: wasmcore charges what Wasmtime charges
    for bench in QUICK_OVERHEAD:
        used = {e: got[(e, bench, "fuel")]["samples"][0]["fuel_used"] for e in engines}
        assert len(set(used.values())) == 1, (bench, used)
    assert "### Resource-control overhead" in stdout
    for engine in engines:
        assert f"| **{engine}** | **geomean** |" in stdout, engine


def test_overhead_wrong_answer_is_reported_not_timed(backend):
    bench = next(b for b in corpus.load(native=False, simd=False) if b.name == "fib")
    bench.expected = {**bench.expected, "tiny": bench.expected["tiny"] + 1}
    engine = harness.Engine(f"wasmcore-{backend}", "kernel", "large", "")
    records = []
    for control in ("plain", "fuel", "epochs"):
        sample = harness.measure_kernel(engine, bench, "tiny", 120, control)
        assert sample["status"] == "wrong" and sample["result"] == bench.expected["tiny"] - 1, sample
        status, median, rss = harness.summarize([sample])
        records.append({"section": "overhead", "benchmark": "fib", "size": "tiny", "n": 22,
                        "engine": engine.name, "control": control, "status": status, "median": median,
                        "peak_rss_mb": rss, "samples": [sample]})
    data = {"engines": {engine.name: {"mode": "kernel"}}, "benchmarks": {"fib": {"kind": "c"}}, "results": records}
    (text,) = report.overhead_tables(data)
    row = next(line for line in text.splitlines() if line.startswith(f"| {engine.name} | fib |"))
    assert row.count("**WRONG**") == 3 and "ms" not in row and "µs" not in row, row
    assert report.failures(data) == records


def test_fuel_that_is_never_consumed_is_an_error(monkeypatch):
    """consume_fuel on and zero fuel used means the checks were not there: not a fast time."""
    bench = next(b for b in corpus.load(native=False, simd=False) if b.name == "fib")
    fake = {"status": "ok", "phases": {"compile": 0.1, "run": 0.001}, "result": bench.expected["tiny"],
            "fuel_used": 0, "wall": 0.2, "peak_rss_kb": 1}
    monkeypatch.setattr(harness, "child_job", lambda job, timeout: dict(fake, job=job))
    engine = harness.Engine("wasmtime-py", "kernel", "large", "")
    sample = harness.measure_kernel(engine, bench, "tiny", 10, "fuel")
    assert sample["job"]["control"] == "fuel"
    assert sample["status"] == "error" and "no fuel" in sample["error"]
    assert harness.measure_kernel(engine, bench, "tiny", 10, "epochs")["status"] == "ok"


def test_only_selects_sections():
    from benchmarks import cli

    with pytest.raises(SystemExit, match="--only"):
        cli.main(["--only", "overhead,bogus"])
