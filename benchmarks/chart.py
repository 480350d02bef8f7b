"""A dependency-free SVG chart: run-phase time ratio to wasmtime-py, log scale, one panel per
size, one bar per benchmark and engine (bars grow up from 1x when slower, down when faster)."""

from __future__ import annotations

import math
from xml.sax.saxutils import escape

from benchmarks.report import BASE_RUN, engine_order, geomean, index

COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#7f7f7f"]


def panels(data):
    res = index(data, "run")
    out = []
    for size in data["sizes"]:
        engines = [e for e in engine_order(data, {"kernel", "native-run"})
                   if e != BASE_RUN and any(k[1] == size and k[2] == e for k in res)]
        benches = [b for b in data["benchmarks"] if (b, size, BASE_RUN) in res]
        values = {}
        for b in benches:
            base = res[(b, size, BASE_RUN)]
            if base["status"] != "ok":
                continue
            for e in engines:
                r = res.get((b, size, e))
                if r and r["status"] == "ok" and r["median"].get("run"):
                    values[(b, e)] = r["median"]["run"] / base["median"]["run"]
        if values:
            for e in engines:
                g = geomean([v for (b, ee), v in values.items() if ee == e])
                if g:
                    values[("geomean", e)] = g
            out.append((size, [*benches, "geomean"], engines, values))
    return out


def write_chart(data, path: str) -> None:
    ps = panels(data)
    all_engines = []
    for _, _, engines, _ in ps:
        all_engines += [e for e in engines if e not in all_engines]
    color = {e: COLORS[i % len(COLORS)] for i, e in enumerate(all_engines)}
    bar, gap, left, top, panel_h, label_h = 7, 12, 64, 56, 260, 86
    groups = max((len(b) for _, b, _, _ in ps), default=1)
    width = left + groups * (len(all_engines) * bar + gap) + 20
    per_row = max(1, (width - left) // 150)
    top += 16 * ((len(all_engines) - 1) // per_row)  # legend rows
    height = top + len(ps) * (panel_h + label_h) + 10
    m = data["meta"]["machine"]
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="sans-serif" font-size="11">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{left}" y="18" font-size="14" font-weight="bold">Run time relative to {BASE_RUN} '
           f'(log scale; below 1 = faster)</text>',
           f'<text x="{left}" y="34" fill="#555">{escape(m.get("cpu", ""))}, {m.get("cores")} cores, '
           f'Python {m["python"]}, {escape(data["meta"]["started"])}; median of {data["meta"]["repeat"]}</text>']
    for i, e in enumerate(all_engines):  # legend
        x, y = left + (i % per_row) * 150, 40 + 16 * (i // per_row)
        svg.append(f'<rect x="{x}" y="{y}" width="10" height="10" fill="{color[e]}"/>'
                   f'<text x="{x + 14}" y="{y + 9}">{escape(e)}</text>')
    for p, (size, benches, engines, values) in enumerate(ps):
        y0 = top + p * (panel_h + label_h) + 10
        lo = math.floor(math.log10(min(min(values.values()), 1)))
        hi = math.ceil(math.log10(max(max(values.values()), 1)))
        hi = max(hi, lo + 1)
        ypos = lambda v: y0 + panel_h * (hi - math.log10(v)) / (hi - lo)
        svg.append(f'<text x="4" y="{y0 + 12}" font-weight="bold">size {size}</text>')
        for d in range(lo, hi + 1):
            y = ypos(10 ** d)
            svg.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - 10}" y2="{y:.1f}" '
                       f'stroke="{"#000" if d == 0 else "#ddd"}"/>'
                       f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{10 ** d:g}x</text>')
        one = ypos(1)
        for g, b in enumerate(benches):
            gx = left + g * (len(all_engines) * bar + gap) + gap / 2
            for e in engines:
                v = values.get((b, e))
                if v is None:
                    continue
                x = gx + all_engines.index(e) * bar
                y = ypos(v)
                svg.append(f'<rect x="{x:.1f}" y="{min(y, one):.1f}" width="{bar - 1}" '
                           f'height="{max(abs(one - y), 0.5):.1f}" fill="{color[e]}">'
                           f'<title>{escape(b)} {size} {escape(e)}: {v:.3g}x</title></rect>')
            lx = gx + len(all_engines) * bar / 2
            svg.append(f'<text transform="translate({lx:.1f},{y0 + panel_h + 8}) rotate(45)" '
                       f'font-weight="{"bold" if b == "geomean" else "normal"}">{escape(b)}</text>')
    svg.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(svg) + "\n")
