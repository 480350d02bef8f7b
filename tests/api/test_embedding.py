"""The embedding API, on every backend, checked against wasmtime-py's behaviour."""

import pytest

import wasmcore as w

I32 = w.ValType.i32()


def instance_of(store, wat_to_binary, text, imports=()):
    module = w.Module(store.engine, wat_to_binary(text))
    return w.Instance(store, module, list(imports)).exports(store)


def test_results_are_none_one_or_list(store, wat_to_binary):
    exports = instance_of(store, wat_to_binary, """(module
      (func (export "none"))
      (func (export "one") (result i32) i32.const -1)
      (func (export "two") (result i32 i64) i32.const 1 i64.const -2))""")
    assert exports["none"](store) is None
    assert exports["one"](store) == -1
    assert exports["two"](store) == [1, -2]


def test_wrong_argument_types_raise_type_error(store, wat_to_binary):
    add = instance_of(store, wat_to_binary, '(module (func (export "f") (param i32 f64)))')["f"]
    with pytest.raises(TypeError):
        add(store, "1", 2.0)
    with pytest.raises(TypeError):
        add(store, 1)


def test_trap_code_and_backtrace(store, wat_to_binary):
    exports = instance_of(store, wat_to_binary, """(module
      (func $inner (export "inner") unreachable)
      (func $outer (export "outer") call $inner)
      (func (export "div") (param i32) (result i32) i32.const 1 local.get 0 i32.div_u))""")
    with pytest.raises(w.Trap) as info:
        exports["outer"](store)
    assert info.value.trap_code == w.TrapCode.UNREACHABLE
    assert [frame.func_name for frame in info.value.frames][:2] == ["inner", "outer"]
    with pytest.raises(w.Trap) as info:
        exports["div"](store, 0)
    assert info.value.trap_code == w.TrapCode.INTEGER_DIVISION_BY_ZERO


def test_deep_recursion_is_a_stack_overflow_trap(store, wat_to_binary):
    exports = instance_of(store, wat_to_binary,
                          '(module (func $f (export "f") (param i32) (result i32)'
                          ' (i32.add (i32.const 1) (call $f (local.get 0)))))')
    for _ in range(2):  # the interpreter stays usable afterwards
        with pytest.raises(w.Trap) as info:
            exports["f"](store, 0)
        assert info.value.trap_code == w.TrapCode.STACK_OVERFLOW


def test_host_exception_propagates(store, wat_to_binary):
    class Boom(Exception):
        pass

    def host(x):
        raise Boom(x)

    func = w.Func(store, w.FuncType([I32], []), host)
    exports = instance_of(store, wat_to_binary, """(module
      (import "" "h" (func $h (param i32)))
      (func (export "f") i32.const 7 call $h))""", [func])
    with pytest.raises(Boom):
        exports["f"](store)


def test_caller_sees_memory(store, wat_to_binary):
    seen = []

    def host(caller, ptr):
        seen.append(bytes(caller["memory"].read(caller, ptr, ptr + 5)))

    func = w.Func(store, w.FuncType([I32], []), host, access_caller=True)
    exports = instance_of(store, wat_to_binary, """(module
      (import "" "h" (func $h (param i32)))
      (memory (export "memory") 1) (data (i32.const 8) "hello")
      (func (export "f") i32.const 8 call $h))""", [func])
    exports["f"](store)
    assert seen == [b"hello"]


def test_memory_view_survives_growth(store, wat_to_binary):
    exports = instance_of(store, wat_to_binary, """(module (memory (export "m") 1)
      (func (export "grow") (result i32) i32.const 1 memory.grow)
      (func (export "store") (param i32 i32) local.get 0 local.get 1 i32.store8))""")
    memory = exports["m"]
    view = memory.view(store)
    assert exports["grow"](store) == 1 and memory.size(store) == 2
    exports["store"](store, 3, 99)
    assert view[3] == 99 and memory.data_len(store) == 2 * 65536
    memory.write(store, b"xy", 100)
    assert memory.read(store, 100, 102) == b"xy"


def test_globals_and_tables(store, wat_to_binary):
    exports = instance_of(store, wat_to_binary, """(module
      (global (export "g") (mut i32) (i32.const 5))
      (table (export "t") 2 funcref) (func $f) (elem (i32.const 1) $f))""")
    g = exports["g"]
    assert g.value(store) == 5
    g.set_value(store, 6)
    assert g.value(store) == 6
    table = exports["t"]
    assert table.size(store) == 2 and table.get(store, 0) is None
    assert isinstance(table.get(store, 1), w.Func)


def test_linker_unknown_import_is_a_link_error(engine, store, linker, wat_to_binary):
    module = w.Module(engine, wat_to_binary('(module (import "env" "missing" (func)))'))
    with pytest.raises(w.LinkError, match="env::missing"):
        linker.instantiate(store, module)


def test_linker_define_func_and_instance(engine, store, linker, wat_to_binary):
    linker.define_func("env", "double", w.FuncType([I32], [I32]), lambda x: 2 * x)
    provider = w.Module(engine, wat_to_binary(
        '(module (import "env" "double" (func $d (param i32) (result i32)))'
        ' (func (export "quad") (param i32) (result i32) (call $d (call $d (local.get 0)))))'))
    linker.define_instance(store, "lib", linker.instantiate(store, provider))
    user = w.Module(engine, wat_to_binary(
        '(module (import "lib" "quad" (func $q (param i32) (result i32)))'
        ' (func (export "run") (result i32) (call $q (i32.const 5))))'))
    assert linker.instantiate(store, user).exports(store)["run"](store) == 20


def test_module_imports_exports_and_validate(engine, wat_to_binary):
    binary = wat_to_binary('(module (import "a" "b" (memory 1)) (func (export "f") (param i32)))')
    module = w.Module(engine, binary)
    assert [(i.module, i.name) for i in module.imports] == [("a", "b")]
    assert isinstance(module.exports[0].type, w.FuncType)
    w.Module.validate(engine, binary)
    with pytest.raises(w.DecodeError):
        w.Module.validate(engine, b"\0asm\1\0\0\0\x01")
    with pytest.raises(w.WasmtimeError):
        w.Module(engine, b"\0asm\1\0\0\0\x01")


UNKNOWN_IMPORTS_WAT = '''(module
  (import "m" "f" (func $f (param i32) (result i32 i64)))
  (import "m" "g" (global $g i32))
  (import "m" "mem" (memory 1))
  (import "m" "tab" (table 2 funcref))
  (func (export "call_f") (result i32 i64) (call $f (i32.const 5)))
  (func (export "read") (result i32 i32 i32) (global.get $g) (memory.size) (table.size)))'''


def test_define_unknown_imports_as_traps(engine, store, linker):
    module = w.Module(engine, '(module (import "m" "f" (func (result i32)))'
                                     ' (func (export "c") (result i32) call 0))')
    linker.define_unknown_imports_as_traps(module)
    instance = linker.instantiate(store, module)
    with pytest.raises(w.Trap, match="unknown import: `m::f` has not been defined"):
        instance.exports(store)["c"](store)
    # only functions: a module that also imports a global still fails to link
    other = w.Module(engine, UNKNOWN_IMPORTS_WAT)
    linker.define_unknown_imports_as_traps(other)
    with pytest.raises(w.LinkError, match="m::g"):
        linker.instantiate(store, other)


def test_define_unknown_imports_as_default_values(engine, store, linker):
    module = w.Module(engine, UNKNOWN_IMPORTS_WAT)
    linker.define_unknown_imports_as_default_values(store, module)
    exports = linker.instantiate(store, module).exports(store)
    assert exports["call_f"](store) == [0, 0]
    assert exports["read"](store) == [0, 1, 2]


def test_instance_pre(engine, store, linker):
    module = w.Module(engine, '(module (import "m" "f" (func (result i32)))'
                                     ' (func (export "c") (result i32) call 0))')
    with pytest.raises(w.LinkError, match="m::f"):
        linker.instantiate_pre(module)
    linker.define_func("m", "f", w.FuncType([], [w.ValType.i32()]), lambda: 41)
    pre = linker.instantiate_pre(module)
    assert isinstance(pre, w.InstancePre) and pre.module is module
    first, second = pre.instantiate(store), pre.instantiate(w.Store(engine))
    assert first.exports(store)["c"](store) == 41 and first is not second


def test_memory_buffer_pointer_is_zero_copy_and_survives_grow(engine, store):
    memory = w.Memory(store, w.MemoryType(w.Limits(1, 3)))
    assert (memory.page_size(store), memory.page_size_log2(store)) == (65536, 16)
    buffer = memory.get_buffer_ptr(store)
    assert len(buffer) == 65536
    buffer[10] = 0xAB
    assert memory.read(store, 10, 11) == bytearray([0xAB])
    memory.grow(store, 1)
    memory.write(store, b"\x01", 11)
    assert buffer[11] == 1  # the mapping did not move
    tail = memory.get_buffer_ptr(store, 4, 2 * 65536 - 4)
    assert len(tail) == 4
    with pytest.raises(IndexError):
        memory.get_buffer_ptr(store, 8, 2 * 65536 - 4)


def test_val_accessors_and_ref_null():
    assert (w.Val.i32(-1).as_i32(), w.Val.i32(1).as_i64(), w.Val.i64(2).as_i64()) == (-1, None, 2)
    assert (w.Val.f32(1.5).as_f32(), w.Val.f64(2.5).as_f64(), w.Val.f64(2.5).as_f32()) == (1.5, 2.5, None)
    marker = object()
    assert w.Val.externref(marker).as_externref() is marker
    assert w.Val.externref(marker).as_funcref() is None
    assert w.Val.ref_null(w.ValType.funcref()).as_funcref() is None
    assert w.Val.ref_null(w.ValType.externref()).type == w.ValType.externref()
    with pytest.raises(w.WasmcoreError, match="ref_null"):
        w.Val.ref_null(w.ValType.i32())
