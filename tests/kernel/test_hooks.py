"""One test per hook spec (`test_hook_<name>`), each with a plugin passed to the engine's own
plugin manager: nothing global leaks between tests."""

import binascii

import msgspec
import pytest

import wasmcore
from wasmcore.kernel.plugins import PluginManager
from wasmcore.errors import ConfigError, ValidationError, WasmcoreError
from wasmcore.plugin import HostFunction, hookimpl

ADD = '(module (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))'
HOST = ('(module (import "env" "h" (func $h (param i32) (result i32)))'
        ' (func (export "f") (param i32) (result i32) (call $h (local.get 0))))')


def engine_with(backend, *plugins, config=None):
    config = config or wasmcore.Config()
    config.backend = backend
    manager = PluginManager(plugins=[(f"test{i}", p) for i, p in enumerate(plugins)])
    return wasmcore.Engine(config, plugins=manager)


def call_add(engine, binary):
    store = wasmcore.Store(engine)
    instance = wasmcore.Instance(store, wasmcore.Module(engine, binary), [])
    return instance.exports(store)["add"](store, 2, 3)


def test_hook_wasmcore_register_settings(backend):
    class Opts(msgspec.Struct):
        level: int = 1

    class Plugin:
        @hookimpl
        def wasmcore_register_settings(self, register):
            register("opts", Opts)

    config = wasmcore.Config()
    config.set("opts.level", 3)
    assert engine_with(backend, Plugin(), config=config).plugin_settings("opts").level == 3
    config.set("opts.nope", 1)
    with pytest.raises(ConfigError, match="nope"):
        engine_with(backend, Plugin(), config=config)


def test_hook_wasmcore_register_host_modules(backend, wat_to_binary):
    class Env:
        name, kind = "env", "test"

        def functions(self):
            from wasmcore.syntax.types import FuncType, ValueType
            return {"h": HostFunction(FuncType((ValueType.I32,), (ValueType.I32,)),
                                      lambda x: x + 1, convention="bits")}

    class Plugin:
        @hookimpl
        def wasmcore_register_host_modules(self, register):
            register(Env())

    engine = engine_with(backend, Plugin())
    linker = wasmcore.Linker(engine)
    linker.define_host_module("env")
    store = wasmcore.Store(engine)
    module = wasmcore.Module(engine, wat_to_binary(HOST))
    assert linker.instantiate(store, module).exports(store)["f"](store, 41) == 42


def test_hook_wasmcore_engine_created(backend):
    seen = []

    class Plugin:
        @hookimpl
        def wasmcore_engine_created(self, engine):
            seen.append(engine.config.backend)

    engine_with(backend, Plugin())
    assert seen == [backend]


def test_hook_wasmcore_engine_closed(backend):
    seen = []

    class Plugin:
        @hookimpl
        def wasmcore_engine_closed(self, engine):
            seen.append(engine)

    engine = engine_with(backend, Plugin())
    engine.close()
    engine.close()
    assert seen == [engine]


def test_hook_wasmcore_decode(backend, wat_to_binary):
    class HexDecoder:  # claims a made-up "HEX:" container ahead of the builtin decoders
        @hookimpl
        def wasmcore_decode(self, engine, data):
            if isinstance(data, bytes) and data.startswith(b"HEX:"):
                from wasmcore.binary import decode_module
                return decode_module(binascii.unhexlify(data[4:]))
            return None

    engine = engine_with(backend, HexDecoder())
    assert call_add(engine, b"HEX:" + binascii.hexlify(wat_to_binary(ADD))) == 5


def test_hook_wasmcore_validate(backend, wat_to_binary):
    class NoMoreThanZeroFunctions:
        @hookimpl
        def wasmcore_validate(self, module):
            if module.functions:
                raise ValidationError("policy: no functions allowed")

    engine = engine_with(backend, NoMoreThanZeroFunctions())
    with pytest.raises(ValidationError, match="policy"):
        wasmcore.Module(engine, wat_to_binary(ADD))
    wasmcore.Module(engine, wat_to_binary("(module)"))


def test_hook_wasmcore_compile(backend, wat_to_binary):
    seen = []

    class Observer:
        @hookimpl(wrapper=True)
        def wasmcore_compile(self, engine, module):
            compiled = yield
            seen.append((compiled.backend, len(module.functions)))
            return compiled

    assert call_add(engine_with(backend, Observer()), wat_to_binary(ADD)) == 5
    assert seen == [(backend, 1)]


def test_hook_wasmcore_serialize(backend, wat_to_binary):
    engine = engine_with(backend)
    module = wasmcore.Module(engine, wat_to_binary(ADD))
    artifact = module.serialize()
    assert call_add_module(engine, wasmcore.Module.deserialize(engine, artifact)) == 5
    other = wasmcore.Config()
    other.max_wasm_stack = 12345
    with pytest.raises(WasmcoreError, match="incompatible"):
        wasmcore.Module.deserialize(engine_with(backend, config=other), artifact)
    with pytest.raises(WasmcoreError, match="magic"):
        wasmcore.Module.deserialize(engine, b"garbage")


def test_hook_wasmcore_deserialize(backend, wat_to_binary):
    seen = []

    class Observer:
        @hookimpl(wrapper=True)
        def wasmcore_deserialize(self, engine, backend, payload):
            result = yield
            seen.append(backend)
            return result

    engine = engine_with(backend, Observer())
    artifact = wasmcore.Module(engine, wat_to_binary(ADD)).serialize()
    assert call_add_module(engine, wasmcore.Module.deserialize(engine, artifact)) == 5
    assert seen == [backend]


def call_add_module(engine, module):
    store = wasmcore.Store(engine)
    return wasmcore.Instance(store, module, []).exports(store)["add"](store, 2, 3)


def test_hook_wasmcore_allocate(backend, wat_to_binary):
    allocations = []

    class CountingAllocator:
        @hookimpl(wrapper=True)
        def wasmcore_allocate(self, module):
            allocation = yield
            allocations.append(len(allocation.memories))
            return allocation

    engine = engine_with(backend, CountingAllocator())
    store = wasmcore.Store(engine)
    wasmcore.Instance(store, wasmcore.Module(engine, wat_to_binary("(module (memory 1))")), [])
    assert allocations == [1]


def test_hook_wasmcore_instantiate(backend, wat_to_binary):
    seen = []

    class Observer:
        @hookimpl(wrapper=True)
        def wasmcore_instantiate(self, instance):
            handle = yield
            seen.append(sorted(instance.exports))
            return handle

    assert call_add(engine_with(backend, Observer()), wat_to_binary(ADD)) == 5
    assert seen == [["add"]]


def test_hook_wasmcore_host_call(backend, wat_to_binary):
    calls, importers = [], []

    class Tracer:
        @hookimpl(wrapper=True)
        def wasmcore_host_call(self, func, host, instance):
            importers.append(instance)
            adapted = yield

            def traced(*args):
                calls.append(host.name)
                return adapted(*args)
            return traced

    engine = engine_with(backend, Tracer())
    linker = wasmcore.Linker(engine)
    i32 = wasmcore.ValType.i32()
    linker.define_func("env", "h", wasmcore.FuncType([i32], [i32]), lambda x: x * 2)
    store = wasmcore.Store(engine)
    instance = linker.instantiate(store, wasmcore.Module(engine, wat_to_binary(HOST)))
    assert instance.exports(store)["f"](store, 21) == 42
    assert calls == ["h"]
    assert importers == [instance._instance]  # the importing instance, for Caller


def test_hook_wasmcore_register_backends(backend, wat_to_binary):
    from tests.kernel._backends import WASM_2_0, DelegatingBackend, Registers

    engine = engine_with("mine", Registers(DelegatingBackend("mine", WASM_2_0)))
    assert engine.backend.name == "mine" and "mine" in engine.plugins.backends()
    assert call_add(engine, wat_to_binary(ADD)) == 5


def test_hook_wasmcore_register_allocators(backend, wat_to_binary):
    from wasmcore.plugin import Allocation, Allocator

    events = []

    class Recording(Allocator):
        name = "recording"

        def allocate(self, engine, store, module):
            from wasmcore.runtime import MemoryInstance

            events.append("allocate")
            return Allocation(memories=[MemoryInstance(t) for t in module.memories])

        def release(self, engine, store, allocation):
            events.append(("release", len(allocation.memories)))

    class Plugin:
        @hookimpl
        def wasmcore_register_allocators(self, register):
            register(Recording())

    config = wasmcore.Config()
    config.allocation_strategy = "recording"
    engine = engine_with(backend, Plugin(), config=config)
    with wasmcore.Store(engine) as store:
        wasmcore.Instance(store, wasmcore.Module(engine, wat_to_binary("(module (memory 1))")), [])
        assert events == ["allocate"]
    assert events == ["allocate", ("release", 1)]


def test_hook_wasmcore_release(backend, wat_to_binary):
    released = []

    class Observer:
        @hookimpl(wrapper=True)
        def wasmcore_release(self, store, allocation):
            released.append((store, len(allocation.memories)))
            return (yield)

    engine = engine_with(backend, Observer())
    module = wasmcore.Module(engine, wat_to_binary('(module (memory (export "m") 1))'))
    store = wasmcore.Store(engine)
    memory = wasmcore.Instance(store, module, []).exports(store)["m"]
    memory.write(store, b"secret", 0)
    store.close()
    assert released == [(store, 1)]
    assert memory._memory.size == 0  # released: nothing of it stays readable
    store.close()  # idempotent
    assert len(released) == 1
    with pytest.raises(WasmcoreError, match="closed"):
        wasmcore.Instance(store, module, [])
    # A store that is dropped without close() is released when collected, also when its
    # table holds its own functions (a cycle through the store).
    import gc

    cyclic = wasmcore.Module(engine, wat_to_binary(
        '(module (memory 1) (table 1 funcref) (elem (i32.const 0) $f) (func $f))'))
    store = wasmcore.Store(engine)
    wasmcore.Instance(store, cyclic, [])
    del store, memory
    gc.collect()
    assert released[-1] == (None, 1)


def test_hook_wasmcore_register_profilers(backend, wat_to_binary):
    from wasmcore.plugin import Profiler

    sessions = []

    class Session:
        def __init__(self):
            self.functions, self.closed = [], False

        def code_published(self, module, functions):
            self.functions.extend(f.name for f in functions)

        def close(self):
            self.closed = True

    class Names(Profiler):
        name = "names"

        def start(self, engine):
            sessions.append(Session())
            return sessions[-1]

    class Plugin:
        @hookimpl
        def wasmcore_register_profilers(self, register):
            register(Names())

    config = wasmcore.Config()
    config.profiler = "names"
    engine = engine_with(backend, Plugin(), config=config)
    assert call_add(engine, wat_to_binary(ADD.replace("(func", "(func $add"))) == 5
    assert sessions[0].functions == ["add"]
    engine.close()
    assert sessions[0].closed


def test_hook_wasmcore_code_published(backend, wat_to_binary):
    seen = []

    class Observer:
        @hookimpl
        def wasmcore_code_published(self, module, functions):
            seen.append([(f.index, f.name, f.address > 0 or f.code is not None)
                         for f in functions])

    config = wasmcore.Config()
    engine = engine_with(backend, Observer(), config=config)
    binary = wat_to_binary(ADD.replace("(func", "(func $add"))
    module = wasmcore.Module(engine, binary)
    assert seen == [[(0, "add", True)]]
    wasmcore.Module.deserialize(engine, module.serialize())  # no compile: published again
    assert seen == [[(0, "add", True)]] * 2
