"""The `wasmcore` command line: `run`, `wast`, `plugins` (wasmtime's CLI shapes)."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Sequence

from wasmcore import _logging


def _config_from(args: argparse.Namespace):
    from wasmcore import Config

    config = Config.from_file(args.config) if getattr(args, "config", None) else Config()
    if getattr(args, "backend", None):
        config.backend = args.backend
    return config


def _parse_invoke_argument(text: str, value_type) -> object:
    from wasmcore.syntax.types import ValueType

    if value_type in (ValueType.F32, ValueType.F64):
        return float(text)
    return int(text, 0)


def cmd_run(args: argparse.Namespace) -> int:
    from wasmcore import Engine, ExitTrap, Linker, Module, Store, Trap

    engine = Engine(_config_from(args))
    store = Store(engine)
    module = Module.from_file(engine, args.file)
    linker = Linker(engine)
    wants_wasi = any(imp.module.startswith("wasi") for imp in module._module.imports)
    if wants_wasi:
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
            if not os.path.isdir(host):
                raise SystemExit(f"error: failed to open directory {host!r} for --dir")
            wasi.preopen_dir(host, guest if sep else host)
        wasi.inherit_stdin()
        wasi.inherit_stdout()
        wasi.inherit_stderr()
        store.set_wasi(wasi)
        linker.define_wasi()
    try:
        instance = linker.instantiate(store, module)
        exports = instance.exports(store)
        if args.invoke:
            func = exports.get(args.invoke)
            if func is None:
                raise SystemExit(f"error: no export named {args.invoke!r}")
            params = func.type(store)._type.params
            if len(params) != len(args.args):
                raise SystemExit(f"error: {args.invoke} expects {len(params)} arguments, "
                                 f"got {len(args.args)}")
            result = func(store, *(_parse_invoke_argument(a, t) for a, t in zip(args.args, params)))
            for value in (result if isinstance(result, list) else [] if result is None else [result]):
                print(value)
        else:
            start = exports.get("_start") or exports.get("")
            if start is not None:
                start(store)
    except ExitTrap as exit_trap:
        return exit_trap.code
    except Trap as trap:
        sys.stdout.flush()
        print(f"Error: failed to run main module `{args.file}`\n\nCaused by:\n    {trap}",
              file=sys.stderr)
        return 134  # wasmtime's status for a trap (abort)
    return 0


def cmd_wast(args: argparse.Namespace) -> int:
    from wasmcore._wast import run_wast_file

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
    from wasmcore._plugins import PluginManager

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
    run.add_argument("file")
    run.add_argument("args", nargs=argparse.REMAINDER)
    run.set_defaults(handler=cmd_run)

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
    except (WasmcoreError, OSError, TypeError, ValueError) as error:
        if _logging.enabled("wasmcore", "debug"):
            raise
        name = getattr(args, "file", None)
        prefix = f"error: {name}: " if name else "error: "
        print(f"{prefix}{error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
