"""The `wasmcore` command line: `run`, `wast`, `plugins` (wasmtime's CLI shapes)."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from typing import Sequence

from wasmcore.kernel import log as _logging


def _config_from(args: argparse.Namespace):
    from wasmcore import Config

    config = Config.from_file(args.config) if getattr(args, "config", None) else Config()
    if getattr(args, "backend", None):
        config.backend = args.backend
    for key, value in _option_pairs(getattr(args, "wasm_options", []), "-W"):
        _apply_wasm_option(config, args, key, value)
    _apply_resource_flags(config, args)
    _apply_codegen_options(config, getattr(args, "codegen_options", None))
    return config


def _apply_codegen_options(config, groups: list[str] | None) -> None:
    """`run -C cache[=y|n]` and `-C cache-config=FILE.toml`, as wasmtime: the compiled-code cache
    is on by default for `run`, so running the same module again skips compilation."""
    if groups is None:
        return  # a command without -C (compile, wast): no implicit cache
    enabled, cache_config = True, None
    for key, value in _option_pairs(groups, "-C"):
        if key == "cache":
            enabled = _flag(key, value, "-C")
        elif key == "cache-config":
            cache_config = value
        else:
            raise CliError(f"unknown -C option {key!r}; known: cache, cache-config")
    if not enabled:
        config.cache = None
    elif cache_config:
        config.cache = cache_config
    elif not getattr(config, "cache", None):
        config.cache = True  # the default directory (wasmcore.kernel.cache.default_directory)


def _apply_resource_flags(config, args: argparse.Namespace) -> None:
    """`run --fuel N` and `--timeout DURATION`: the same as `-W fuel=N`, `-W timeout=DUR`."""
    for key in ("fuel", "timeout"):
        value = getattr(args, key, None)
        if value is not None:
            _apply_wasm_option(config, args, key, value)


# `-W`/`-S` as in wasmtime: comma-separated KEY[=VALUE] lists, a bare KEY meaning `y`.
_FEATURE_OPTIONS = ("threads", "reference-types", "simd", "relaxed-simd", "bulk-memory",
                    "multi-value", "multi-memory", "memory64", "tail-call", "gc",
                    "function-references", "exceptions", "extended-const")
# Resource options that configure the store rather than the engine (read by cmd_run).
_STORE_OPTIONS = ("fuel", "timeout", "max-memory-size", "max-table-elements", "max-instances",
                  "max-tables", "max-memories", "trap-on-grow-failure")
_WASI_OPTIONS = ("cli", "inherit-env", "preview2", "tcp", "udp", "network", "inherit-network")


def _option_pairs(groups: list[str], flag: str) -> list[tuple[str, str]]:
    pairs = []
    for group in groups:
        for item in filter(None, group.split(",")):
            key, eq, value = item.partition("=")
            pairs.append((key.strip(), value.strip() if eq else "y"))
    return pairs


def _flag(key: str, value: str, flag: str) -> bool:
    lowered = value.lower()
    if lowered in ("y", "yes", "true", "1", "on"):
        return True
    if lowered in ("n", "no", "false", "0", "off"):
        return False
    raise CliError(f"invalid value for {flag} {key}: {value!r} (expected y or n)")


def _apply_wasm_option(config, args: argparse.Namespace, key: str, value: str) -> None:
    if key in _FEATURE_OPTIONS:
        setattr(config, "wasm_" + key.replace("-", "_"), _flag(key, value, "-W"))
    elif key == "max-wasm-stack":
        try:
            config.max_wasm_stack = int(value, 0)
        except ValueError:
            raise CliError(f"invalid value for -W max-wasm-stack: {value!r}") from None
    elif key in _STORE_OPTIONS:
        if key == "fuel":
            config.consume_fuel = True
        elif key == "timeout":
            config.epoch_interruption = True
        vars(args).setdefault("store_options", {})[key] = value
    else:
        known = ", ".join(sorted((*_FEATURE_OPTIONS, "max-wasm-stack", *_STORE_OPTIONS)))
        raise CliError(f"unknown -W option {key!r}; known: {known}")


def _parse_invoke_argument(text: str, value_type) -> object:
    from wasmcore.syntax.types import ValueType

    if value_type in (ValueType.F32, ValueType.F64):
        return float(text)
    return int(text, 0)


# wasmtime's wording for each trap, as its CLI prints it ("wasm trap: ...").
_WASMTIME_TRAP_TEXT = {
    "STACK_OVERFLOW": "call stack exhausted",
    "MEMORY_OUT_OF_BOUNDS": "out of bounds memory access",
    "HEAP_MISALIGNED": "unaligned atomic",
    "TABLE_OUT_OF_BOUNDS": "undefined element: out of bounds table access",
    "INDIRECT_CALL_TO_NULL": "uninitialized element",
    "BAD_SIGNATURE": "indirect call type mismatch",
    "INTEGER_OVERFLOW": "integer overflow",
    "INTEGER_DIVISION_BY_ZERO": "integer divide by zero",
    "BAD_CONVERSION_TO_INTEGER": "invalid conversion to integer",
    "UNREACHABLE": "wasm `unreachable` instruction executed",
    "INTERRUPT": "interrupt",
    "OUT_OF_FUEL": "all fuel consumed by WebAssembly",
}
TRAP_EXIT_STATUS = 134  # wasmtime exits like abort() on a trap (checked against its CLI)


class CliError(Exception):
    """A one-line error for the user (printed as `error: ...`, exit status 1)."""


def _load_module(engine, path: str):
    """A .wasm binary, .wat text, or a precompiled artifact (.cwasm), told apart by content."""
    from wasmcore import Module
    from wasmcore.kernel.artifact import MAGIC
    from wasmcore.errors import DecodeError

    try:
        with open(path, "rb") as file:
            data = file.read()
    except OSError as error:
        raise CliError(f"failed to open wasm module {path!r}: {error.strerror}") from None
    if data.startswith(MAGIC):
        return Module.deserialize(engine, data)
    if data.startswith(b"\0asm"):
        return Module(engine, data)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise CliError(f"{path}: not a WebAssembly module (no \\0asm magic header, not text)") from None
    if not text.lstrip().startswith(("(", ";;")):
        raise CliError(f"{path}: not a WebAssembly module (no \\0asm magic header, and the text "
                       "does not start with `(`)")
    try:
        return Module(engine, text)
    except DecodeError as error:
        raise CliError(f"{path}: invalid WebAssembly text: {error}") from None


def _trap_report(path: str, trap, entry: str) -> str:
    code = getattr(trap.trap_code, "name", None)
    reason = _WASMTIME_TRAP_TEXT.get(code) if code else None
    lines = [f"Error: failed to run main module `{path}`", "", "Caused by:",
             f"    0: failed to invoke {entry}"]
    if trap.frames:
        lines.append("    1: error while executing at wasm backtrace:")
        for i, frame in enumerate(trap.frames):
            at = f"{frame.module_offset:#8x} - " if frame.module_offset is not None else ""
            module = frame.module_name or "<unknown>"
            name = frame.func_name or f"<wasm function {frame.func_index}>"
            lines.append(f"    {i:>5}: {at}{module}!{name}")
        lines.append(f"    2: {'wasm trap: ' + reason if reason else trap.message}")
    else:
        lines.append(f"    1: {'wasm trap: ' + reason if reason else trap.message}")
    return "\n".join(lines)


def _wasi_config(args: argparse.Namespace):
    from wasmcore import WasiConfig

    wasi = WasiConfig()
    wasi.argv = [os.path.basename(args.file), *args.args]
    env = []
    for item in args.env:
        name, eq, value = item.partition("=")
        if not eq:
            value = os.environ.get(name)
            if value is None:
                continue
        env.append((name, value))
    wasi.env = env
    for mapping in args.dir:
        host, sep, guest = mapping.partition("::")
        wasi.preopen_dir(host, guest if sep else host)
    wasi.inherit_stdin()
    wasi.inherit_stdout()
    wasi.inherit_stderr()
    for key, value in _option_pairs(args.wasi_options, "-S"):
        if key not in _WASI_OPTIONS:
            raise CliError(f"unknown -S option {key!r}; known: {', '.join(_WASI_OPTIONS)}")
        enabled = _flag(key, value, "-S")
        if key == "inherit-env" and enabled:
            wasi.inherit_env()
            wasi.env = list({**os.environ, **dict(env)}.items())  # explicit --env values win
        elif key == "cli" and not enabled:
            raise CliError("-S cli=n: wasmcore runs only WASI command modules")
        elif key == "preview2" and enabled:
            raise CliError("-S preview2=y: WASI preview 2 for core modules is not available yet; "
                           "core modules use wasi_snapshot_preview1")
        elif key in ("tcp", "udp", "network", "inherit-network") and enabled:
            raise CliError(f"-S {key}: wasmcore's WASI grants no network access")
    return wasi


def _duration_seconds(text: str) -> float:
    """wasmtime's durations: `10`, `1.5s`, `300ms`, `2m` (a bare number is seconds)."""
    units = (("ms", 1e-3), ("us", 1e-6), ("ns", 1e-9), ("s", 1.0), ("m", 60.0), ("h", 3600.0))
    for suffix, scale in units:
        if text.endswith(suffix):
            number = text[:-len(suffix)]
            break
    else:
        number, scale = text, 1.0
    try:
        seconds = float(number) * scale
    except ValueError:
        raise CliError(f"invalid duration {text!r} (e.g. 10s, 250ms)") from None
    if seconds <= 0:
        raise CliError(f"invalid duration {text!r}: must be positive")
    return seconds


def _configure_store(store, options: dict[str, str]) -> None:
    limits = {}
    for key, value in options.items():
        if key == "fuel":
            try:
                store.set_fuel(int(value, 0))
            except ValueError:
                raise CliError(f"invalid value for fuel: {value!r}") from None
        elif key == "timeout":
            import threading

            store.set_epoch_deadline(1)
            timer = threading.Timer(_duration_seconds(value), store.engine.increment_epoch)
            timer.daemon = True  # never keeps the process alive after the guest is done
            timer.start()
        elif key == "trap-on-grow-failure":
            limits["trap_on_grow_failure"] = _flag(key, value, "-W")
        else:
            try:
                limits[key.replace("-", "_")] = int(value, 0)
            except ValueError:
                raise CliError(f"invalid value for -W {key}: {value!r}") from None
    if limits:
        store.set_limits(**limits)


def cmd_run(args: argparse.Namespace) -> int:
    from wasmcore import Engine, ExitTrap, Linker, Store, Trap

    # Ctrl-C ends the process as it ends `wasmtime run`: a KeyboardInterrupt could not reach a
    # guest looping in native code, and a traceback is not what a command-line user wants.
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_DFL)

    # Like wasmtime, a bad --dir is an error even when the module does not use WASI.
    for mapping in args.dir:
        host = mapping.partition("::")[0]
        if not os.path.isdir(host):
            raise CliError(f"failed to open directory {host!r} for --dir: "
                           f"{'not a directory' if os.path.exists(host) else 'no such directory'}")
    wasi = _wasi_config(args)  # checks -S options even for a module without WASI imports
    engine = Engine(_config_from(args))
    store = Store(engine)
    _configure_store(store, vars(args).get("store_options", {}))
    module = _load_module(engine, args.file)
    linker = Linker(engine)
    if any(imp.module.startswith("wasi") for imp in module._module.imports):
        store.set_wasi(wasi)
        linker.define_wasi()
    entry = f"`{args.invoke}`" if args.invoke else "command default"
    try:
        instance = linker.instantiate(store, module)
        exports = instance.exports(store)
        if args.invoke:
            func = exports.get(args.invoke)
            if func is None or not hasattr(func, "type"):
                raise CliError(f"no function export named {args.invoke!r}")
            params = func.type(store)._type.params
            if len(params) != len(args.args):
                raise CliError(f"{args.invoke} expects {len(params)} arguments, "
                               f"got {len(args.args)}")
            result = func(store, *(_parse_invoke_argument(a, t) for a, t in zip(args.args, params)))
            for value in (result if isinstance(result, list) else [] if result is None else [result]):
                print(value)
        else:
            start = exports.get("_start") or exports.get("")
            if start is not None:
                start(store)
    except ExitTrap as exit_trap:
        sys.stdout.flush()
        return exit_trap.code
    except Trap as trap:
        sys.stdout.flush()
        print(_trap_report(args.file, trap, entry), file=sys.stderr)
        return TRAP_EXIT_STATUS
    return 0


def cmd_compile(args: argparse.Namespace) -> int:
    """Ahead-of-time compilation to a .cwasm artifact, as `wasmtime compile`."""
    from wasmcore import Engine
    from wasmcore.kernel.artifact import normalize_target

    config = _config_from(args)
    if args.target:
        config.target = normalize_target(args.target)
    engine = Engine(config)
    try:
        with open(args.file, "rb") as file:
            data = file.read()
    except OSError as error:
        raise CliError(f"failed to open wasm module {args.file!r}: {error.strerror}") from None
    if not data.startswith(b"\0asm"):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            raise CliError(f"{args.file}: not a WebAssembly module") from None
    artifact = engine.precompile_module(data)
    output = args.output or os.path.splitext(args.file)[0] + ".cwasm"
    with open(output, "wb") as file:
        file.write(artifact)
    return 0


def cmd_wast(args: argparse.Namespace) -> int:
    from wasmcore.text.wast import run_wast_file

    config = _config_from(args)
    total_passed = total_failed = 0
    for path in args.files:
        result = run_wast_file(path, config)
        total_passed += result.passed
        total_failed += result.failed
        print(f"{path}: {result.passed} passed, {result.failed} failed")
        if args.verbose:
            for failure in result.failures:
                print(f"  {failure}")
    print(f"{total_passed} passed, {total_failed} failed")
    return 1 if total_failed else 0


def cmd_plugins(args: argparse.Namespace) -> int:
    from wasmcore.kernel.plugins import PluginManager

    manager = PluginManager()
    for info in manager.plugin_infos():
        origin = "builtin" if info.builtin else f"{info.distribution or '?'} {info.version or ''}".strip()
        print(f"{info.name:<20} {origin:<22} {', '.join(info.hooks)}")
    for skipped in manager.skipped:
        print(f"{skipped.name:<20} skipped: {skipped.reason}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wasmcore", description="Run WebAssembly.")
    parser.add_argument("--config", metavar="FILE.toml", help="load settings from a TOML file")
    parser.add_argument("--log", metavar="FILTER", help="like WASMCORE_LOG (e.g. debug)")
    parser.add_argument("--log-json", action="store_true", help="log JSON lines")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run a WebAssembly module (.wasm or .wat)")
    run.add_argument("--backend", help="execution backend (default: interp)")
    run.add_argument("--dir", action="append", default=[], metavar="HOST[::GUEST]",
                     help="preopen a host directory for the guest")
    run.add_argument("--env", action="append", default=[], metavar="NAME[=VAL]",
                     help="pass an environment variable to the guest")
    run.add_argument("--invoke", metavar="NAME", help="call this export instead of _start")
    run.add_argument("-W", dest="wasm_options", action="append", default=[], metavar="OPT[=VAL],..",
                     help="wasm options as in wasmtime: max-wasm-stack=N, simd=n, fuel=N, "
                          "timeout=DUR, max-memory-size=BYTES, ...")
    run.add_argument("--fuel", metavar="N", help="stop the guest after N units of fuel "
                     "(as -W fuel=N)")
    run.add_argument("--timeout", metavar="DURATION", help="interrupt the guest after DURATION "
                     "(10s, 250ms; epoch-based, as -W timeout=DURATION)")
    run.add_argument("-C", dest="codegen_options", action="append", default=[],
                     metavar="OPT[=VAL],..", help="codegen options as in wasmtime: cache=n (the "
                     "compiled-code cache, on by default), cache-config=FILE.toml")
    run.add_argument("-S", dest="wasi_options", action="append", default=[], metavar="OPT[=VAL],..",
                     help="WASI options as in wasmtime: inherit-env, cli, preview2=n")
    run.add_argument("file")
    run.add_argument("args", nargs=argparse.REMAINDER)
    run.set_defaults(handler=cmd_run)

    compile_ = commands.add_parser("compile", help="compile a module ahead of time to .cwasm")
    compile_.add_argument("--backend", help="execution backend (default: interp)")
    compile_.add_argument("--target", metavar="TRIPLE",
                          help="cross-compile, e.g. x86_64-unknown-linux-gnu, aarch64-linux")
    compile_.add_argument("-W", dest="wasm_options", action="append", default=[],
                          metavar="OPT[=VAL],..", help="wasm options, as for run")
    compile_.add_argument("-o", "--output", metavar="OUT.cwasm",
                          help="output file (default: the input's name with .cwasm)")
    compile_.add_argument("file")
    compile_.set_defaults(handler=cmd_compile)

    wast = commands.add_parser("wast", help="run .wast spec test scripts")
    wast.add_argument("--backend", help="execution backend (default: interp)")
    wast.add_argument("-v", "--verbose", action="store_true", help="list each failure")
    wast.add_argument("files", nargs="+")
    wast.set_defaults(handler=cmd_wast)

    plugins = commands.add_parser("plugins", help="list plugins and the hooks they implement")
    plugins.set_defaults(handler=cmd_plugins)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from wasmcore.errors import WasmcoreError

    args = build_parser().parse_args(argv)
    if args.log is not None or args.log_json:
        _logging.configure(args.log or os.environ.get("WASMCORE_LOG", "info"), json=args.log_json)
    try:
        return args.handler(args)
    except (CliError, WasmcoreError, OSError, TypeError, ValueError) as error:
        if _logging.enabled("wasmcore", "debug"):
            raise
        name = getattr(args, "file", None)
        prefix = f"error: {name}: " if name and not isinstance(error, CliError) else "error: "
        print(f"{prefix}{error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
