"""Every hook specification, grouped by the life-cycle phase it belongs to.

Hooks fire only at phase boundaries (an engine is created, a module is decoded / validated /
compiled, an instance is allocated / instantiated, a host function is linked), never once per
wasm instruction or per call. They are always called with keyword arguments; an
implementation may accept fewer arguments than the spec names, so specs can grow.
docs/plugins.md explains them with a worked third-party plugin.
"""

from __future__ import annotations

from typing import Any, Callable

from wasmcore.plugin import hookspec

# Annotations name types as strings only (Engine, Store: the public wasmcore classes;
# DecodedModule: wasmcore.syntax.types; Backend, Allocation, CompiledModule, HostFunction,
# PublishedFunction: wasmcore.plugin; FuncInstance, ModuleInstance: wasmcore.runtime), so this
# module imports nothing of the API it describes.


# --- registration (once per Engine, while its plugin manager is set up) -------------------

@hookspec
def wasmcore_register_backends(register: Callable[["Backend"], None]) -> None:
    """Declare the execution backends this plugin provides.

    Called once per plugin manager. Call `register(backend)` with a `wasmcore.plugin.Backend`
    whose `name` is what `config.backend` selects and whose `features` say what its code
    implements. A plugin that only wraps `wasmcore_compile` (a profiler, a tracer) registers
    nothing here and so is never listed or chosen as a backend. All implementations run; two
    backends of one name are an error.
    """


@hookspec
def wasmcore_register_allocators(register: Callable[["Allocator"], None]) -> None:
    """Declare instance allocators (`wasmcore.plugin.Allocator`), chosen by name with
    `config.allocation_strategy`. The core registers "on-demand"; the pooling allocator
    plugin registers "pooling". Called once per plugin manager. All implementations run."""


@hookspec
def wasmcore_register_profilers(register: Callable[["Profiler"], None]) -> None:
    """Declare profilers (`wasmcore.plugin.Profiler`), chosen by name with `config.profiler`;
    the Engine starts the chosen one and closes it with the engine. Called once per plugin
    manager. All implementations run."""


@hookspec
def wasmcore_register_settings(register: Callable[[str, type], None]) -> None:
    """Declare this plugin's settings schema.

    Called once per Engine, before the engine reads `Config`. Call
    `register(namespace, StructType)` with a `msgspec.Struct` type whose fields (all with
    defaults) are the plugin's options; `config.set("<namespace>.<field>", value)` and the
    `[<namespace>]` table of a TOML config file are converted into that Struct (unknown keys and
    bad values raise `ConfigError` naming them). The engine exposes the result as
    `engine.plugin_settings(namespace)`. All implementations run. Implemented by any plugin
    with options (jit_llvm, wasi, profilers).
    """


@hookspec
def wasmcore_register_host_modules(register: Callable[["Any"], None]) -> None:
    """Offer host modules (groups of host functions) to linkers.

    Called once per Engine. Call `register(host_module)` with objects following
    `wasmcore.plugin.HostModule`. `Linker.define_wasi()` defines every module of kind "wasi";
    `Linker.define_host_module(name)` defines one by name. All implementations run.
    Implemented by the WASI plugins.
    """


# --- engine life cycle ----------------------------------------------------------------------

@hookspec
def wasmcore_engine_created(engine: "Engine") -> None:
    """The engine is configured and ready. Called once per Engine, after settings are resolved.
    All implementations run. Profilers open their output here (perf map, JitDump)."""


@hookspec
def wasmcore_engine_closed(engine: "Engine") -> None:
    """The engine is being closed (`engine.close()`, or interpreter exit). Called at most once
    per Engine. All implementations run. Profilers flush and close their output here."""


# --- reading a module -----------------------------------------------------------------------

@hookspec(firstresult=True)
def wasmcore_decode(engine: "Engine", data: bytes | str) -> "DecodedModule | None":
    """Turn module bytes (or WAT text) into a `DecodedModule`.

    Called once per `Module(...)` creation. firstresult: the first non-None answer wins; return
    None for input you do not recognise. Raise `DecodeError` for input you recognise but that
    is malformed. The core's text decoder and binary decoder are `trylast` builtins, so a
    plugin may claim other formats (e.g. a component binary) ahead of them.
    """


@hookspec
def wasmcore_validate(engine: "Engine", module: "DecodedModule") -> None:
    """Check a decoded module; raise `ValidationError` to reject it.

    Called once per module, after decoding and before compiling. All implementations run; the
    core validator (spec "Validation") is essential and cannot be blocked. Plugins add
    policy checks here (e.g. the pooling allocator rejects modules over its limits).
    """


# --- compiling ------------------------------------------------------------------------------

@hookspec(firstresult=True)
def wasmcore_compile(engine: "Engine", module: "DecodedModule") -> "CompiledModule | None":
    """Compile a validated module for execution.

    Called once per module (the result is shared by all its instances and may be cached).
    firstresult: the core's `trylast` builtin calls the engine's backend (`engine.backend`,
    resolved by name from `wasmcore_register_backends`), so backends implement
    `Backend.compile` rather than this hook. Wrap it (`wrapper=True`) to observe or time
    compilation; to see the code, use `wasmcore_code_published`.
    """


@hookspec
def wasmcore_code_published(engine: "Engine", module: "DecodedModule",
                            functions: "list[PublishedFunction]") -> None:
    """Code for `functions` of `module` became callable: after a compile, after loading an
    artifact or a cache hit (no compile then), and when a lazily compiling backend compiles
    more. Each `PublishedFunction` has the wasm index and name, and the machine code's
    `address`/`size` (native backends) or the Python `code` object (interp).
    All implementations run. Implemented by profilers (perf map, JitDump)."""


@hookspec(firstresult=True)
def wasmcore_serialize(engine: "Engine", compiled: "CompiledModule") -> bytes | None:
    """Encode a compiled module as an AOT artifact payload (`Module.serialize()`).

    Called once per `serialize()`. firstresult: the core's builtin asks the engine's backend
    (`Backend.serialize`). The core wraps the payload in the artifact header (see
    docs/artifacts.md).
    """


@hookspec(firstresult=True)
def wasmcore_deserialize(engine: "Engine", module: "DecodedModule", backend: str,
                         payload: bytes, header: Any) -> "CompiledModule | None":
    """Rebuild a compiled module from an artifact payload written by `wasmcore_serialize`.

    Called once per `Module.deserialize()` (and per compiled-code cache hit), after the core
    has checked the header (`wasmcore.kernel.artifact.ArtifactHeader`: format and wasmcore version,
    backend, target, config fingerprint). firstresult: the backend named `backend` answers.
    A native backend checks `header.cpu_features` against the host here and raises
    `WasmcoreError` if the code needs features the host lacks. Return None to have the core
    recompile the (trusted, already validated) module instead. The core's builtin asks the
    engine's backend (`Backend.deserialize`).
    """


# --- instantiating --------------------------------------------------------------------------

@hookspec(firstresult=True)
def wasmcore_allocate(engine: "Engine", store: "Store",
                      module: "DecodedModule") -> "Allocation | None":
    """Provide the memories and tables a new instance defines.

    Called once per instantiation, before the instance's functions are built. firstresult.
    The core's `trylast` builtin asks the engine's allocator (`engine.allocator`, chosen by
    `config.allocation_strategy` among `wasmcore_register_allocators`). Raise `Trap` or
    `WasmcoreError` when the allocation is refused (a store limit, a full pool).
    """


@hookspec(firstresult=True)
def wasmcore_release(engine: "Engine", store: "Store", allocation: "Allocation") -> bool | None:
    """Take back what `wasmcore_allocate` handed out: called once per allocation when its
    store is closed (`Store.close()`, leaving a `with Store(...)` block) or collected.
    firstresult: the core's `trylast` builtin hands it to the engine's allocator
    (`Allocator.release`), so a pooling allocator can reset and reuse the slot."""


@hookspec(firstresult=True)
def wasmcore_instantiate(store: "Store", compiled: "CompiledModule",
                         instance: "ModuleInstance") -> Any:
    """Bind a compiled module's functions to a new instance's state.

    Called once per instantiation, after imports are resolved and memories/tables allocated,
    with `instance.funcs` holding a `FuncInstance` for every function (imports first; the
    defined ones not yet callable) and `instance.globals` initialized. The backend makes each
    defined FuncInstance callable (sets `invoke`, and `native`/`backend` for its fast path)
    and returns its per-instance handle (anything but None), kept as `instance.handle`.
    The core then runs element and data segments and the start function. Every imported
    host function was adapted once before (`wasmcore_host_call`); the adapters are in
    `instance.host_calls` (aligned with the imported functions, None for wasm imports), so a
    backend never calls hooks itself.
    firstresult: the core's builtin calls the engine's backend (`Backend.instantiate`).
    """


@hookspec(firstresult=True)
def wasmcore_host_call(store: "Store", func: "FuncInstance", host: "HostFunction",
                       backend: str, instance: "ModuleInstance | None") -> Callable | None:
    """Adapt one imported host function for calls from a backend's code.

    Called by the core once per imported host function when it instantiates a module (link
    time), never per call; the results go to the backend in `instance.host_calls`. `instance`
    is the importing instance (what an `access_caller` function's `Caller` sees). Return the
    callable the backend will call, in that backend's calling convention. firstresult: the
    core's `trylast` builtin asks the backend named `backend` (`Backend.host_call`) and falls
    back to the generic bits-convention `func.invoke(*args) -> tuple`. Wrap it to trace host
    calls: the wrapper costs nothing when it is not installed.
    """
