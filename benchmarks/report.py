"""Markdown tables from the results JSON (also re-rendered later with `--from-json`)."""

from __future__ import annotations

import math

BASE_RUN = "wasmtime-py"
BASE_PROCESS = "wasmtime run"
SHOWN = {"wrong": "WRONG", "error": "error", "timeout": "timeout", "unsupported": "unsupported"}
PHASES = ("validate", "compile", "instantiate", "run")


def geomean(values) -> float | None:
    values = [v for v in values if v and v > 0]
    return math.exp(sum(map(math.log, values)) / len(values)) if values else None


def fmt_time(t: float | None) -> str:
    if t is None:
        return "–"
    if t >= 10:
        return f"{t:.1f} s"
    if t >= 1:
        return f"{t:.2f} s"
    if t >= 0.9995e-3:  # not "1e+03 µs"
        return f"{t * 1e3:.3g} ms"
    return f"{t * 1e6:.3g} µs"


def fmt_ratio(r: float | None) -> str:
    if r is None:
        return "–"
    if r >= 100:
        return f"{r:,.0f}x"
    if r >= 10:
        return f"{r:.0f}x"
    return f"{r:.2g}x" if r < 1 else f"{r:.1f}x"


def engine_order(data, mode: set[str]) -> list[str]:
    names = [n for n, e in data["engines"].items() if e["mode"] in mode]
    rank = lambda n: (0 if n.startswith("wasmcore") else 1 if n.startswith("wasmtime") else
                      2 if n.startswith("pywasm") else 3, n)
    return sorted(names, key=rank)


def table(head: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def index(data, section: str) -> dict:
    return {(r["benchmark"], r["size"], r["engine"]): r for r in data["results"] if r["section"] == section}


def ratio_table(data, section: str, size: str, phase: str, base: str) -> str | None:
    """Median `phase` time per benchmark and engine at `size`, with the ratio to `base`, and
    geomean ratios over the benchmarks both ran (same benchmark, same N)."""
    res = index(data, section)
    engines = [e for e in engine_order(data, {"process"} if section == "process" else {"kernel", "native-run"})
               if any(k[1] == size and k[2] == e for k in res)]
    benches = [b for b in data["benchmarks"] if any(k[0] == b and k[1] == size for k in res)]
    if not engines or not benches:
        return None
    rows, ratios = [], {e: {} for e in engines}
    for b in benches:
        n = next(r["n"] for k, r in res.items() if k[0] == b and k[1] == size)
        base_r = res.get((b, size, base))
        base_t = base_r["median"].get(phase) if base_r and base_r["status"] == "ok" else None
        cells = [b, f"{n:,}"]
        for e in engines:
            r = res.get((b, size, e))
            if r is None:
                cells.append("–")
            elif r["status"] != "ok":
                cells.append(f"**{SHOWN[r['status']]}**" if r["status"] == "wrong" else SHOWN[r["status"]])
            else:
                t = r["median"].get(phase)
                ratio = t / base_t if base_t and t else None
                if ratio is not None:
                    ratios[e][b] = ratio
                cells.append(fmt_time(t) + ("" if e == base else f" ({fmt_ratio(ratio)})"))
        rows.append(cells)
    c_set = [b for b in benches if data["benchmarks"][b]["kind"] == "c"]
    for label, subset in (("geomean ratio, C programs", c_set), ("geomean ratio, all", benches)):
        cells = [f"**{label}**", ""]
        for e in engines:
            got = [ratios[e][b] for b in subset if b in ratios[e]]
            g = geomean(got)
            cells.append(f"**{fmt_ratio(g)}**" + (f" ({len(got)}/{len(subset)})" if g and len(got) < len(subset) else ""))
        rows.append(cells)
    return table(["benchmark", "N", *engines], rows)


def phase_table(data, size: str) -> str | None:
    res = index(data, "run")
    engines = [e for e in engine_order(data, {"kernel"}) if any(k[1] == size and k[2] == e for k in res)]
    if not engines:
        return None
    rows = []
    for e in engines:
        cells = [e]
        for phase in PHASES:
            times, ratios = [], []
            for (b, s, eng), r in res.items():
                if s != size or eng != e or r["status"] != "ok" or phase not in r["median"]:
                    continue
                times.append(r["median"][phase])
                base = res.get((b, s, BASE_RUN))
                if base and base["status"] == "ok" and base["median"].get(phase):
                    ratios.append(r["median"][phase] / base["median"][phase])
            g = geomean(times)
            cells.append("n/a" if g is None else fmt_time(g) + ("" if e == BASE_RUN else f" ({fmt_ratio(geomean(ratios))})"))
        rows.append(cells)
    return table(["engine", *PHASES], rows)


def memory_table(data, size: str) -> str | None:
    runs, procs = index(data, "run"), index(data, "process")
    idle = {r["engine"]: r for r in data["results"] if r["section"] == "idle"}
    engines = [e for e in engine_order(data, {"kernel", "native-run", "process"})
               if any(k[1] == size and k[2] == e for k in (*runs, *procs))]
    benches = [b for b in data["benchmarks"] if any(k[0] == b and k[1] == size for k in (*runs, *procs))]
    if not engines:
        return None
    mb = lambda r: "–" if r is None or r.get("peak_rss_mb") is None else f"{r['peak_rss_mb']:.0f}"
    rows = [["(idle: imports + Engine)", *[mb(idle.get(e)) for e in engines]]] if idle else []
    for b in benches:
        rows.append([b, *[mb(runs.get((b, size, e)) or procs.get((b, size, e))) for e in engines]])
    return table(["benchmark", *engines], rows)


def extras_tables(data) -> list[str]:
    out = []
    calls = {r["engine"]: r for r in data["results"] if r["section"] == "calls"}
    host = {r["engine"]: r for r in data["results"] if r["section"] == "hostcall"}
    idle = {r["engine"]: r for r in data["results"] if r["section"] == "idle"}

    def val(r, key, fmt):
        if r is None:
            return "–"
        if r["status"] != "ok":
            return SHOWN[r["status"]]
        return fmt(r["median"][key])

    if calls or host:
        rows = [[e, val(calls.get(e), "python_to_wasm_us", lambda v: f"{v:.2f}"),
                 val(host.get(e), "host_call_us", lambda v: f"{v:.2f}"),
                 "–" if e not in idle else f"{idle[e]['peak_rss_mb']:.0f}"]
                for e in engine_order(data, {"kernel"}) if e in calls or e in host]
        out.append("### Call costs (median)\n\nPython→wasm: a Python loop calling an exported "
                   "`add(i32, i32)`; wasm→Python: `hostcall.wasm` run(N) calling the imported "
                   "`env.host_add` N times, time / N (includes the wasm loop around each call).\n\n"
                   + table(["engine", "Python→wasm call (µs)", "wasm→Python host call (µs)",
                            "idle child RSS (MB)"], rows))
    load = {r["engine"]: r for r in data["results"] if r["section"] == "load"}
    proc = {r["engine"]: r for r in data["results"] if r["section"] == "load-process"}
    if load or proc:
        size_mb = data["meta"].get("bigmodule_bytes", 0) / 1e6
        rows = []
        for e in engine_order(data, {"kernel"}):
            if e in load:
                r = load[e]
                rows.append([e, val(r, "validate", fmt_time) if "validate" in r["median"] or r["status"] != "ok" else "n/a",
                             val(r, "validate", lambda v: f"{size_mb / v:.1f}") if "validate" in r["median"] else "n/a",
                             val(r, "compile", fmt_time)])
        for e in engine_order(data, {"process"}):
            if e in proc:
                rows.append([e, "", "", val(proc[e], "process", fmt_time)])
        out.append(f"### bigmodule.wasm ({size_mb:.2f} MB, 3000 functions): load phases (median)\n\n"
                   "validate = decode + validate; compile = `Module(engine, bytes)` (decode, validate "
                   "and code generation); for the CLIs, the whole `run bigmodule.wasm 1` process.\n\n"
                   + table(["engine", "validate", "validate MB/s", "compile / whole process"], rows))
    return out


# Issue #7's goals for the cost of fuel and of epoch checks (geomean over the kernels).
OVERHEAD_GOALS = {"wasmcore-interp": 0.15, "wasmcore-llvm": 0.10}
CONTROLS = ("plain", "fuel", "epochs")


def fmt_overhead(r: float | None) -> str:
    return "–" if r is None else f"{(r - 1) * 100:+.1f}%"


def overhead_tables(data) -> list[str]:
    """Per engine and kernel: median run(N) plain / fuel / epochs and overhead = t/t_plain - 1,
    then a geomean row per engine (geomean of the ratios over the kernels all three ran)."""
    res = {(r["engine"], r["benchmark"], r["control"]): r for r in data["results"] if r["section"] == "overhead"}
    if not res:
        return []
    engines = [e for e in engine_order(data, {"kernel"}) if any(k[0] == e for k in res)]
    benches = [b for b in data["benchmarks"] if any(k[1] == b for k in res)]

    def cell(r):
        if r is None:
            return "–"
        if r["status"] != "ok":
            return f"**{SHOWN[r['status']]}**" if r["status"] == "wrong" else SHOWN[r["status"]]
        return fmt_time(r["median"].get("run"))

    rows, summary = [], []
    for e in engines:
        ratios = {"fuel": [], "epochs": []}
        count = 0
        for b in benches:
            got = {c: res.get((e, b, c)) for c in CONTROLS}
            if not any(got.values()):
                continue
            count += 1
            plain = got["plain"]
            base = plain["median"].get("run") if plain and plain["status"] == "ok" else None
            over = {}
            for c in ("fuel", "epochs"):
                r = got[c]
                t = r["median"].get("run") if r and r["status"] == "ok" else None
                over[c] = t / base if t and base else None
                if over[c] is not None:
                    ratios[c].append(over[c])
            any_r = next(r for r in got.values() if r)
            rows.append([e, b, any_r["size"], f"{any_r['n']:,}", *(cell(got[c]) for c in CONTROLS),
                         fmt_overhead(over["fuel"]), fmt_overhead(over["epochs"])])
        g = {c: geomean(ratios[c]) for c in ratios}
        part = {c: f" ({len(ratios[c])}/{count})" if g[c] and len(ratios[c]) < count else "" for c in ratios}
        rows.append([f"**{e}**", "**geomean**", "", "", "", "", "",
                     *(f"**{fmt_overhead(g[c])}**{part[c]}" for c in ("fuel", "epochs"))])
        goal = OVERHEAD_GOALS.get(e)
        verdict = lambda c: ("–" if goal is None or g[c] is None else
                             "met" if g[c] - 1 <= goal else "**missed**")
        summary.append([e, fmt_overhead(g["fuel"]) + part["fuel"], fmt_overhead(g["epochs"]) + part["epochs"],
                        "–" if goal is None else f"≤ {goal * 100:.0f}%", verdict("fuel"), verdict("epochs")])
    return ["### Resource-control overhead: fuel and epochs (median `run(N)`; overhead = t / t_plain − 1)\n\n"
            "Each kernel run three ways in the same interleaved rounds: plain; `config.consume_fuel = True` "
            "with `store.set_fuel(2**62)`; `config.epoch_interruption = True` with "
            "`store.set_epoch_deadline(2**40)` (neither runs out). Each engine at the largest size it runs. "
            "Goals from issue #7.\n\n"
            + table(["engine", "fuel overhead (geomean)", "epochs overhead (geomean)", "goal",
                     "fuel", "epochs"], summary)
            + "\n\n" + table(["engine", "benchmark", "size", "N", "plain", "fuel", "epochs",
                                 "fuel overhead", "epochs overhead"], rows)]


def describe(sample: dict) -> str:
    if sample["status"] == "wrong":
        return f"got {sample.get('result', sample.get('stdout'))!r}, expected {sample.get('expected')!r}"
    return sample.get("error", "")


def failures(data) -> list[dict]:
    return [r for r in data["results"] if r.get("status") in ("wrong", "error", "timeout")]


def markdown(data) -> str:
    meta, m = data["meta"], data["meta"]["machine"]
    out = [f"## Benchmarks, {meta['started']}",
           f"Machine: {m.get('cpu', '?')}, {m.get('cores')} cores, Python {m['python']}; load average "
           f"{meta['loadavg_start'][0]:.2f} at start, {meta['loadavg_end'][0]:.2f} at end; "
           f"median of {meta['repeat']} interleaved rounds; {meta['seconds']:.0f} s in all.",
           "Engines: " + "; ".join(f"`{n}` {e['about']} (up to {e['cap']})" for n, e in data["engines"].items())]
    for size in data["sizes"]:
        t = ratio_table(data, "run", size, "run", BASE_RUN)
        if t:
            out.append(f"### Run phase, size {size} (median time of `run(N)`; ratio to {BASE_RUN})\n\n{t}")
    for size in data["sizes"]:
        t = phase_table(data, size)
        if t:
            out.append(f"### Phases, size {size} (geomean over the benchmarks of the median time; "
                       f"geomean ratio to {BASE_RUN})\n\n{t}")
    for size in data["sizes"]:
        t = ratio_table(data, "process", size, "process", BASE_PROCESS)
        if t:
            out.append(f"### Whole process, size {size} (`run X.wasm N` wall time; ratio to `{BASE_PROCESS}`)\n\n{t}")
    out += extras_tables(data)
    out += overhead_tables(data)
    for size in data["sizes"]:
        t = memory_table(data, size)
        if t:
            out.append(f"### Peak memory, size {size} (MB; {data['meta']['memory']})\n\n{t}")
    bad = failures(data)
    unsupported = [r for r in data["results"] if r.get("status") == "unsupported"]
    if bad:
        out.append("### FAILURES\n\n" + "\n".join(
            f"- {SHOWN[r['status']]}: {r['benchmark'] or r['section']} {r['size']} on {r['engine']}"
            + (f" ({r['control']})" if r.get("control") else "") + ": "
            + next((describe(s) for s in r["samples"] if s["status"] != "ok"), "") for r in bad))
    if unsupported:
        seen = {}
        for r in unsupported:
            msg = next(s.get("error", "") for s in r["samples"] if s["status"] == "unsupported")
            seen.setdefault((r["engine"], msg), []).append(r["benchmark"])
        out.append("Unsupported: " + "; ".join(f"{e} on {', '.join(sorted(set(bs)))} ({msg})"
                                               for (e, msg), bs in seen.items()))
    if data["notes"]:
        out.append("Notes: " + "; ".join(data["notes"]))
    return "\n\n".join(out) + "\n"
