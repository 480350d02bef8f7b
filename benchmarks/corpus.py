"""The benchmark corpus: ../shared/bench (expected.json) plus builds made here into a cache
directory outside the project tree (native binaries of the C sources, SIMD wasm builds)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests._shared import shared_dir  # noqa: E402  (the one way to reach the shared data)

SIZES = ("tiny", "small", "large")
# Programs that clang-16 -O2 -msimd128 really vectorizes (their .wasm contains v128 code);
# mandelbrot, fib, qsort, ... come out without a single v128 instruction.
SIMD_BENCHES = ("matmul", "nbody")
CFLAGS = ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"]  # as ../shared/bench/build.sh
WASM_LDFLAGS = ["-Wl,--strip-debug"]

# Times the import-free kernel natively, so that native code has a "run" phase comparable to
# calling run(N) in an engine (no process start-up, no printf).
NATIVE_DRIVER = r"""
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
uint32_t run(int32_t n);
int main(int argc, char **argv) {
    if (argc < 2) return 2;
    int32_t n = (int32_t)strtol(argv[1], NULL, 10);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    uint32_t c = run(n);
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("%u %.9f\n", (unsigned)c, (double)(b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) * 1e-9);
    return 0;
}
"""


# Linux charges a child the RSS of the process it was forked from (ru_maxrss starts at the
# forking parent's size), so a Python harness would put a ~30 MB floor under every number.
# This launcher is tiny: it forks, execs the command and writes the command's own ru_maxrss.
RSS_WRAPPER = r"""
#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
int main(int argc, char **argv) {
    if (argc < 3) return 127;
    pid_t pid = fork();
    if (pid < 0) return 126;
    if (pid == 0) { execvp(argv[2], argv + 2); _exit(127); }
    int status; struct rusage ru;
    if (wait4(pid, &status, 0, &ru) < 0) return 126;
    FILE *f = fopen(argv[1], "w");
    if (f) { fprintf(f, "%ld\n", ru.ru_maxrss); fclose(f); }
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) { signal(WTERMSIG(status), SIG_DFL); raise(WTERMSIG(status)); }
    return 125;
}
"""


@dataclass
class Benchmark:
    name: str
    kind: str                    # "c" or "wat"
    kernel: Path                 # module with no imports (hostcall: imports env.host_add)
    export: str
    initialize: bool             # call _initialize() before run (C reactors)
    sizes: dict[str, int]
    expected: dict[str, int]     # unsigned i32 result of export(N)
    command: Path | None = None  # WASI command build (C only): `NAME.wasm N`
    stdout: dict[str, str] = field(default_factory=dict)
    native_run: Path | None = None      # timed kernel driver (prints "CHECKSUM SECONDS")
    native_command: Path | None = None  # as build.sh: prints the same line as the command
    features: tuple[str, ...] = ()      # wasm proposals beyond the MVP it needs ("simd")

    def has(self, size: str) -> bool:
        return size in self.sizes


def cache_dir() -> Path:
    """Build cache: $WASMCORE_BENCH_CACHE, else ~/.cache/wasmcore-bench (never ../shared)."""
    env = os.environ.get("WASMCORE_BENCH_CACHE")
    base = Path(env) if env else Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "wasmcore-bench"
    base.mkdir(parents=True, exist_ok=True)
    return base


def find_clang() -> str | None:
    return os.environ.get("CLANG") or shutil.which("clang-16") or shutil.which("clang")


def _build(out: Path, argv: list[str], inputs: list[Path], notes: list[str]) -> Path | None:
    """Run `argv + ['-o', out]` unless `out` is up to date for these inputs and flags (the
    file name carries a hash of both, so a changed source rebuilds)."""
    digest = hashlib.sha256(" ".join(argv).encode())
    for path in inputs:
        digest.update(path.read_bytes())
    target = out.with_name(f"{out.name}-{digest.hexdigest()[:12]}")
    if target.exists():
        return target
    tmp = target.with_name(target.name + f".tmp{os.getpid()}")
    proc = subprocess.run([*argv, "-o", str(tmp)], capture_output=True, text=True)
    if proc.returncode != 0:
        notes.append(f"build of {out.name} failed: {proc.stderr.strip().splitlines()[-1:] or proc.returncode}")
        tmp.unlink(missing_ok=True)
        return None
    tmp.replace(target)
    return target


def load(*, native: bool = True, simd: bool = True, notes: list[str] | None = None) -> list[Benchmark]:
    """Every benchmark of expected.json except bigmodule (a compile-time test) and hostcall (the
    host-call cost), plus the SIMD builds; natives attached when the host compiler works."""
    notes = notes if notes is not None else []
    bench = shared_dir() / "bench"
    spec = json.loads((bench / "expected.json").read_text())["benchmarks"]
    out: list[Benchmark] = []
    for name, s in spec.items():
        if s["kind"] == "c":
            out.append(Benchmark(name, "c", bench / s["kernel"], "run", True, s["sizes"], s["checksum"],
                                 bench / s["wasm"], s["stdout"]))
        elif s["kind"] == "wat" and name != "hostcall":
            out.append(Benchmark(name, "wat", bench / s["wasm"], s["export"], False, s["sizes"], s["result"]))
    clang = find_clang()
    if (native or simd) and clang is None:
        notes.append("no clang found (set CLANG=...): native builds and SIMD benchmarks skipped")
        return out
    cache = cache_dir()
    src = bench / "src"
    if native:
        driver = cache / "native_driver.c"
        if not driver.exists() or driver.read_text() != NATIVE_DRIVER:
            driver.write_text(NATIVE_DRIVER)
        for b in out:
            if b.kind != "c":
                continue
            inputs = [src / f"{b.name}.c", src / "bench.h"]
            b.native_command = _build(cache / f"native-{b.name}", [clang, *CFLAGS, str(inputs[0]), "-lm"],
                                      inputs, notes)
            # -w: bench.h's export_name attribute means nothing to the host target
            b.native_run = _build(cache / f"native-run-{b.name}",
                                  [clang, *CFLAGS, "-w", "-DBENCH_KERNEL", str(inputs[0]), str(driver), "-lm"],
                                  [*inputs, driver], notes)
    if simd:
        by_name = {b.name: b for b in out}
        for name in SIMD_BENCHES:
            base = by_name[name]
            inputs = [src / f"{name}.c", src / "bench.h"]
            wasm = [clang, "--target=wasm32-wasi", *CFLAGS, *WASM_LDFLAGS, "-msimd128"]
            command = _build(cache / f"{name}-simd.wasm", [*wasm, str(inputs[0]), "-lm"], inputs, notes)
            kernel = _build(cache / f"{name}-simd.kernel.wasm",
                            [*wasm, "-DBENCH_KERNEL", "-mexec-model=reactor", str(inputs[0]), "-lm"],
                            inputs, notes)
            if command is None or kernel is None:
                notes.append(f"{name}-simd skipped: wasm32-wasi toolchain missing "
                             "(Debian: wasi-libc lld-16 libclang-rt-16-dev-wasm32)")
                continue
            # native: the same host binaries (the host compiler vectorizes for SSE2 at -O2 anyway)
            out.append(Benchmark(f"{name}-simd", "c", kernel, "run", True, base.sizes, base.expected,
                                 command, base.stdout, base.native_run, base.native_command, ("simd",)))
    return out


def rss_wrapper(notes: list[str]) -> Path | None:
    clang = find_clang()
    if clang is None:
        notes.append("no C compiler: peak RSS includes the harness's own RSS at fork")
        return None
    source = cache_dir() / "rss_exec.c"
    if not source.exists() or source.read_text() != RSS_WRAPPER:
        source.write_text(RSS_WRAPPER)
    return _build(cache_dir() / "rss-exec", [clang, "-O2", str(source)], [source], notes)


def hostcall() -> tuple[Path, dict[str, int], dict[str, int]]:
    bench = shared_dir() / "bench"
    s = json.loads((bench / "expected.json").read_text())["benchmarks"]["hostcall"]
    return bench / s["wasm"], s["sizes"], s["result"]


def bigmodule() -> tuple[Path, str]:
    bench = shared_dir() / "bench"
    s = json.loads((bench / "expected.json").read_text())["benchmarks"]["bigmodule"]
    return bench / s["wasm"], s["stdout"]["tiny"]
