"""Tests of the validator (`wasmcore.valid`): the spec testsuite's Wasm 1.0/2.0 tiers, hand-built
modules, feature flags and fuzzing (https://webassembly.github.io/spec/core/valid/index.html)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests._shared import json_from_wast, shared_dir
from wasmcore.errors import DecodeError, ValidationError
from wasmcore.syntax import opcodes as op
from wasmcore.syntax.features import WASM_2_0, WasmFeatures
from wasmcore.syntax.types import (
    DataSegment, DecodedModule, ElementSegment, Export, ExternKind, Function, FuncType, Global,
    GlobalType, Import, Limits, MemoryType, SegmentMode, TableType, ValueType,
    blocktype_from_value_type,
)
from wasmcore.valid import validate_module
from wasmcore.valid._instructions import instruction_table

TIERS = ("wasm-1.0", "wasm-2.0", "wasm-2.0-simd")
I32, I64, F32, F64, V128 = (ValueType.I32, ValueType.I64, ValueType.F32, ValueType.F64,
                            ValueType.V128)
FUNCREF, EXTERNREF = ValueType.FUNCREF, ValueType.EXTERNREF
END = (op.END,)
EMPTY = -64
ALL_FEATURES = WasmFeatures(tail_call=True, multi_memory=True, memory64=True,
                            extended_const=True)

# Spec cases we knowingly get wrong: "file.wast:line" -> reason. Each one marks its file's
# tests xfail(strict=True, raises=KnownFailure): a fix (XPASS) or any other failure in that
# file turns the run red.
KNOWN_FAILURES: dict[str, str] = {}


class KnownFailure(AssertionError):
    """Raised when exactly the KNOWN_FAILURES cases of a file failed."""


def spec_dir() -> Path:
    """The spec testsuite, through the shared-data helper ($WASMCORE_SHARED, ../shared)."""
    return shared_dir() / "spec-testsuite"


def _tier_files() -> list[str]:
    manifest = spec_dir() / "tiers.json"
    if not manifest.exists():
        return []
    tiers = json.loads(manifest.read_text())["tiers"]
    return [path for tier in TIERS for path in tiers[tier]["files"]]


SPEC_FILES = _tier_files()


def _params(files: list[str]) -> list:
    params = []
    for path in files:
        name = Path(path).name
        reasons = [reason for case, reason in KNOWN_FAILURES.items()
                   if case.split(":")[0] == name]
        marks = ([pytest.mark.xfail(strict=True, raises=KnownFailure, reason="; ".join(reasons))]
                 if reasons else [])
        params.append(pytest.param(path, id=name, marks=marks))
    return params


# -- the spec testsuite ----------------------------------------------------------------------

@pytest.fixture(scope="session")
def spec_json(tmp_path_factory) -> dict[str, tuple[Path, list[dict]]]:
    """Every tier file converted to binaries + JSON commands: path -> (dir, commands).

    `wasm-tools json-from-wast` rather than wabt's wast2json: for text modules that use
    data.drop/memory.init without data segments wast2json omits the data count section, so
    two assert_invalid modules of memory_init.wast come out malformed instead of invalid."""
    if not SPEC_FILES:
        pytest.skip(f"spec testsuite not found under {spec_dir()}")
    if shutil.which("wasm-tools") is None:
        pytest.skip("wasm-tools not on PATH")
    root = tmp_path_factory.mktemp("spec-valid")

    return json_from_wast(SPEC_FILES, spec_dir(), root)


@pytest.fixture(scope="session")
def decode():
    try:
        from wasmcore.binary import decode_module
    except ImportError as error:  # the decoder is developed in parallel
        pytest.skip(f"wasmcore.binary.decode_module is not available: {error}")
    return decode_module


# Commands whose module is well-formed and valid (assert_trap on a module is
# assert_uninstantiable in the JSON).
_VALID_KINDS = {"module", "assert_unlinkable", "assert_uninstantiable"}


def _spec_cases(spec_json, path: str, kinds: set[str]):
    directory, commands = spec_json[path]
    for command in commands:
        filename = command.get("filename", "")
        if command["type"] in kinds and filename.endswith(".wasm"):
            yield command, (directory / filename).read_bytes()


def _finish(path: str, failures: dict[str, str], count: int) -> None:
    name = Path(path).name
    known = {case for case in KNOWN_FAILURES if case.split(":")[0] == name}
    unexpected = {case: text for case, text in failures.items() if case not in known}
    fixed = known - set(failures)
    problems = [f"{case}: {text}" for case, text in unexpected.items()]
    problems += [f"{case}: passes now; remove it from KNOWN_FAILURES" for case in fixed]
    assert not problems, "\n".join(problems)
    if known:
        raise KnownFailure(f"{len(known)} known failure(s) of {count}")


@pytest.mark.parametrize("path", _params(SPEC_FILES))
def test_spec_invalid_modules_are_rejected(spec_json, decode, path):
    failures: dict[str, str] = {}
    count = 0
    for command, data in _spec_cases(spec_json, path, {"assert_invalid"}):
        count += 1
        case = f"{Path(path).name}:{command['line']}"
        try:
            module = decode(data, WASM_2_0)
        except DecodeError as error:
            failures[case] = f"decoder rejected it: {error}"
            continue
        try:
            validate_module(module, WASM_2_0)
        except ValidationError as error:
            if command["text"] not in str(error):
                failures[case] = f"expected {command['text']!r}, got {str(error)!r}"
        except Exception as error:  # noqa: BLE001 - any other exception is a bug
            failures[case] = f"raised {error!r}"
        else:
            failures[case] = f"validated, expected {command['text']!r}"
    _finish(path, failures, count)


@pytest.mark.parametrize("path", _params(SPEC_FILES))
def test_spec_valid_modules_validate(spec_json, decode, path):
    failures: dict[str, str] = {}
    count = 0
    for command, data in _spec_cases(spec_json, path, _VALID_KINDS):
        count += 1
        case = f"{Path(path).name}:{command['line']}"
        try:
            validate_module(decode(data, WASM_2_0), WASM_2_0)
        except Exception as error:  # noqa: BLE001
            failures[case] = f"raised {error!r}"
    _finish(path, failures, count)


def test_spec_tiers_found():
    assert len(SPEC_FILES) > 100, f"spec testsuite missing under {spec_dir()}"


# -- hand-built modules ----------------------------------------------------------------------

def func_module(*body, params=(), results=(), locals=(), **fields) -> DecodedModule:
    """A module whose function 0 has the given body (`end` appended) and type."""
    types = (FuncType(tuple(params), tuple(results)), *fields.pop("types", ()))
    function = Function(0, tuple(locals), (*body, END))
    return DecodedModule(types=types, functions=(function, *fields.pop("functions", ())),
                         **fields)


def ok(module: DecodedModule, features: WasmFeatures = WASM_2_0) -> None:
    validate_module(module, features)


def invalid(module: DecodedModule, text: str, features: WasmFeatures = WASM_2_0):
    with pytest.raises(ValidationError) as info:
        validate_module(module, features)
    assert text in str(info.value)
    return info.value


def i32c(value=0):
    return (op.I32_CONST, value)


MEMORY = (MemoryType(Limits(1)),)
TABLE = (TableType(FUNCREF, Limits(1)),)


def test_simple_function():
    ok(func_module((op.LOCAL_GET, 0), (op.LOCAL_GET, 1), (op.I32_ADD,),
                   params=(I32, I32), results=(I32,)))


def test_type_mismatch_carries_location():
    error = invalid(func_module((op.LOCAL_GET, 0), (op.I64_CONST, 1), (op.I32_ADD,),
                                params=(I32,), results=(I32,)), "type mismatch")
    assert error.func_index == 0
    assert error.instruction_index == 2


def test_func_index_counts_imports():
    module = func_module((op.I64_CONST, 1), results=(I32,),
                         imports=(Import("m", "f", ExternKind.FUNC, 0),))
    assert invalid(module, "type mismatch").func_index == 1


@pytest.mark.parametrize("body, text", [
    ([(op.LOCAL_GET, 3), (op.DROP,)], "unknown local 3"),
    ([(op.LOCAL_SET, 1)], "unknown local 1"),
    ([(op.GLOBAL_GET, 0), (op.DROP,)], "unknown global 0"),
    ([(op.BR, 1)], "unknown label 1"),
    ([i32c(), (op.BR_TABLE, (0,), 2)], "unknown label 2"),
    ([(op.CALL, 5)], "unknown function 5"),
    ([i32c(), (op.I32_LOAD, 2, 0, 0), (op.DROP,)], "unknown memory 0"),
    ([(op.MEMORY_SIZE, 0), (op.DROP,)], "unknown memory 0"),
    ([i32c(), (op.CALL_INDIRECT, 0, 0)], "unknown table 0"),
    ([(op.BLOCK, 7), END], "unknown type 7"),
    ([(op.DATA_DROP, 0)], "unknown data segment 0"),
    ([(op.ELEM_DROP, 0)], "unknown elem segment 0"),
    ([(op.REF_FUNC, 9), (op.DROP,)], "unknown function 9"),
])
def test_unknown_indices(body, text):
    invalid(func_module(*body), text)


def test_immutable_global():
    globals_ = (Global(GlobalType(I32), (i32c(), END)),)
    invalid(func_module(i32c(), (op.GLOBAL_SET, 0), globals=globals_), "global is immutable")
    mutable = (Global(GlobalType(I32, True), (i32c(), END)),)
    ok(func_module(i32c(), (op.GLOBAL_SET, 0), globals=mutable))


@pytest.mark.parametrize("opcode, align, good", [
    (op.I32_LOAD, 2, True), (op.I32_LOAD, 3, False), (op.I32_LOAD8_U, 1, False),
    (op.I64_LOAD, 3, True), (op.I64_LOAD32_S, 3, False), (op.V128_LOAD, 4, True),
    (op.V128_LOAD, 5, False), (op.V128_LOAD8_SPLAT, 1, False),
])
def test_alignment(opcode, align, good):
    module = func_module(i32c(), (opcode, align, 0, 0), (op.DROP,), memories=MEMORY)
    if good:
        ok(module)
    else:
        invalid(module, "alignment must not be larger than natural")


def test_store():
    ok(func_module(i32c(), (op.F64_CONST, 0), (op.F64_STORE, 3, 8, 0), memories=MEMORY))
    invalid(func_module((op.F64_CONST, 0), i32c(), (op.F64_STORE, 3, 8, 0), memories=MEMORY),
            "type mismatch")


def test_blocks_and_branches():
    i32_block = blocktype_from_value_type(I32)
    ok(func_module((op.BLOCK, i32_block), i32c(1), (op.BR, 0), END, results=(I32,)))
    ok(func_module((op.LOOP, EMPTY), (op.BR, 0), END))
    ok(func_module(i32c(), (op.IF, i32_block), i32c(), (op.ELSE,), i32c(1), END,
                   results=(I32,)))
    invalid(func_module(i32c(), (op.IF, i32_block), i32c(), END, results=(I32,)),
            "type mismatch")  # if without else must not change the stack type
    invalid(func_module((op.BLOCK, i32_block), END, (op.DROP,)), "type mismatch")
    invalid(func_module((op.BLOCK, EMPTY), i32c(), END), "type mismatch")


def test_multi_value_block_type():
    pair = FuncType((I32,), (I32, I64))
    module = func_module(i32c(), (op.BLOCK, 1), (op.I64_CONST, 0), END, (op.DROP,), (op.DROP,),
                         types=(pair,))
    ok(module)
    invalid(module, "invalid result arity", WasmFeatures(multi_value=False))
    invalid(func_module(i32c(), i32c(), results=(I32, I32)), "invalid result arity",
            WasmFeatures(multi_value=False))


def test_unreachable_is_stack_polymorphic():
    ok(func_module((op.UNREACHABLE,), (op.I32_ADD,), results=(I32,)))
    ok(func_module((op.UNREACHABLE,), (op.SELECT,), (op.DROP,)))
    ok(func_module((op.BLOCK, EMPTY), (op.BR, 0), (op.I32_EQZ,), (op.DROP,), END))
    ok(func_module(i32c(), (op.RETURN,), (op.I64_EQZ,), results=(I32,)))
    invalid(func_module((op.UNREACHABLE,), (op.I64_CONST, 0), (op.I32_EQZ,), (op.DROP,)),
            "type mismatch")
    invalid(func_module((op.UNREACHABLE,), (op.I64_CONST, 0), results=(I32,)), "type mismatch")


def test_br_table_arities():
    f32_block = blocktype_from_value_type(F32)
    i64_block = blocktype_from_value_type(I64)
    body = [(op.BLOCK, i64_block), (op.BLOCK, f32_block), (op.UNREACHABLE,),
            i32c(), (op.BR_TABLE, (0,), 1), END, (op.DROP,), (op.I64_CONST, 0), END, (op.DROP,)]
    # f32 and i64 labels: consistent arity, polymorphic operand -> valid (unreached-valid.wast)
    ok(func_module(*body))
    body[1] = (op.BLOCK, EMPTY)
    body[6] = (op.NOP,)
    invalid(func_module(*body), "type mismatch")  # arities 0 and 1


def test_select():
    ok(func_module(i32c(), i32c(), i32c(), (op.SELECT,), (op.DROP,)))
    invalid(func_module(i32c(), (op.I64_CONST, 0), i32c(), (op.SELECT,), (op.DROP,)),
            "type mismatch")
    refs = [(op.REF_NULL, FUNCREF), (op.REF_NULL, FUNCREF), i32c()]
    invalid(func_module(*refs, (op.SELECT,), (op.DROP,)), "type mismatch")
    ok(func_module(*refs, (op.SELECT_T, (FUNCREF,)), (op.DROP,)))
    invalid(func_module(i32c(), i32c(), i32c(), (op.SELECT_T, (I32, I32)), (op.DROP,)),
            "invalid result arity")


def test_call_indirect_needs_funcref_table():
    externs = (TableType(EXTERNREF, Limits(1)),)
    ok(func_module(i32c(), (op.CALL_INDIRECT, 0, 0), tables=TABLE))
    invalid(func_module(i32c(), (op.CALL_INDIRECT, 0, 0), tables=externs), "type mismatch")


def test_ref_func_must_be_declared():
    body = [(op.REF_FUNC, 0), (op.DROP,)]
    invalid(func_module(*body), "undeclared function reference")
    ok(func_module(*body, exports=(Export("f", ExternKind.FUNC, 0),)))
    declared = ElementSegment(FUNCREF, (((op.REF_FUNC, 0), END),), SegmentMode.DECLARATIVE)
    ok(func_module(*body, elements=(declared,)))
    global_ = Global(GlobalType(FUNCREF), ((op.REF_FUNC, 0), END))
    ok(func_module(*body, globals=(global_,)))


def test_bulk_and_table_instructions():
    data = (DataSegment(b"x", SegmentMode.PASSIVE),)
    ok(func_module(i32c(), i32c(), i32c(), (op.MEMORY_INIT, 0, 0), (op.DATA_DROP, 0),
                   memories=MEMORY, datas=data, data_count=1))
    ok(func_module(i32c(), i32c(), i32c(), (op.MEMORY_COPY, 0, 0), i32c(), i32c(), i32c(),
                   (op.MEMORY_FILL, 0), memories=MEMORY))
    elem = (ElementSegment(EXTERNREF, (((op.REF_NULL, EXTERNREF), END),), SegmentMode.PASSIVE),)
    invalid(func_module(i32c(), i32c(), i32c(), (op.TABLE_INIT, 0, 0), tables=TABLE,
                        elements=elem), "type mismatch")
    ok(func_module(i32c(), (op.TABLE_GET, 0), i32c(), (op.TABLE_GROW, 0), (op.DROP,),
                   (op.TABLE_SIZE, 0), (op.DROP,), tables=TABLE))


def test_simd_lanes():
    v = (op.V128_CONST, 0)
    ok(func_module(v, (op.I8X16_EXTRACT_LANE_S, 15), (op.DROP,)))
    invalid(func_module(v, (op.I8X16_EXTRACT_LANE_S, 16), (op.DROP,)), "invalid lane index")
    invalid(func_module(v, (op.F64_CONST, 0), (op.F64X2_REPLACE_LANE, 2), (op.DROP,)),
            "invalid lane index")
    ok(func_module(v, v, (op.I8X16_SHUFFLE, tuple(range(16, 32))), (op.DROP,)))
    invalid(func_module(v, v, (op.I8X16_SHUFFLE, (32,) * 16), (op.DROP,)),
            "invalid lane index")
    ok(func_module(i32c(), v, (op.V128_LOAD64_LANE, 3, 0, 0, 1), (op.DROP,), memories=MEMORY))
    invalid(func_module(i32c(), v, (op.V128_LOAD64_LANE, 3, 0, 0, 2), (op.DROP,),
                        memories=MEMORY), "invalid lane index")
    ok(func_module(v, i32c(), (op.I32X4_SHL,), (op.V128_ANY_TRUE,), results=(I32,)))


# -- module-level checks ---------------------------------------------------------------------

@pytest.mark.parametrize("limits, text", [
    (Limits(2, 1), "size minimum must not be greater than maximum"),
    (Limits(65537), "memory size must be at most 65536 pages (4GiB)"),
    (Limits(0, 65537), "memory size must be at most 65536 pages (4GiB)"),
])
def test_memory_limits(limits, text):
    invalid(DecodedModule(memories=(MemoryType(limits),)), text)
    invalid(DecodedModule(imports=(Import("m", "mem", ExternKind.MEMORY, MemoryType(limits)),)),
            text)


def test_table_limits():
    invalid(DecodedModule(tables=(TableType(FUNCREF, Limits(3, 2)),)),
            "size minimum must not be greater than maximum")


def test_multiple_memories():
    two = (MemoryType(Limits(1)), MemoryType(Limits(1)))
    invalid(DecodedModule(memories=two), "multiple memories")
    ok(DecodedModule(memories=two), WasmFeatures(multi_memory=True))
    ok(func_module(i32c(), (op.I32_LOAD, 2, 0, 1), (op.DROP,), memories=two),
       WasmFeatures(multi_memory=True))


def test_constant_expressions():
    def global_module(init, value_type=I32, imports=()):
        return DecodedModule(globals=(Global(GlobalType(value_type), (*init, END)),),
                             imports=imports)

    ok(global_module([i32c(5)]))
    invalid(global_module([i32c(), (op.I32_EQZ,)]), "constant expression required")
    invalid(global_module([(op.NOP,)]), "constant expression required")
    invalid(global_module([i32c(), i32c()]), "type mismatch")
    invalid(global_module([]), "type mismatch")
    invalid(global_module([(op.I64_CONST, 0)]), "type mismatch")
    imported = (Import("m", "g", ExternKind.GLOBAL, GlobalType(I32)),)
    ok(global_module([(op.GLOBAL_GET, 0)], imports=imported))
    invalid(global_module([(op.GLOBAL_GET, 1)], imports=imported), "unknown global")
    mutable = (Import("m", "g", ExternKind.GLOBAL, GlobalType(I32, True)),)
    invalid(global_module([(op.GLOBAL_GET, 0)], imports=mutable),
            "constant expression required")
    # Wasm 2.0: a global initializer sees imported globals only
    two = DecodedModule(globals=(Global(GlobalType(I32), (i32c(), END)),
                                 Global(GlobalType(I32), ((op.GLOBAL_GET, 0), END))))
    invalid(two, "unknown global 0")
    extended = global_module([i32c(1), i32c(2), (op.I32_MUL,)])
    invalid(extended, "constant expression required")
    ok(extended, WasmFeatures(extended_const=True))
    invalid(global_module([i32c(1), (op.I64_CONST, 2), (op.I32_ADD,)]), "type mismatch",
            WasmFeatures(extended_const=True))


def test_segments():
    active = ElementSegment(FUNCREF, (((op.REF_FUNC, 0), END),), SegmentMode.ACTIVE, 0,
                            (i32c(), END))
    ok(func_module(tables=TABLE, elements=(active,)))
    invalid(func_module(elements=(active,)), "unknown table 0")
    bad_offset = msgspec.structs.replace(active, offset=((op.I64_CONST, 0), END))
    invalid(func_module(tables=TABLE, elements=(bad_offset,)), "type mismatch")
    bad_item = msgspec.structs.replace(active, init=(((op.REF_NULL, EXTERNREF), END),))
    invalid(func_module(tables=TABLE, elements=(bad_item,)), "type mismatch")
    call_item = msgspec.structs.replace(active, init=(((op.CALL, 0), END),))
    invalid(func_module(tables=TABLE, elements=(call_item,)), "constant expression required")
    data = DataSegment(b"x", SegmentMode.ACTIVE, 0, (i32c(), END))
    ok(DecodedModule(memories=MEMORY, datas=(data,)))
    invalid(DecodedModule(datas=(data,)), "unknown memory 0")


def test_start_function():
    ok(func_module(start=0))
    invalid(func_module(i32c(), results=(I32,), start=0), "start function")
    invalid(func_module(start=1), "unknown function 1")


def test_exports():
    ok(func_module(exports=(Export("a", ExternKind.FUNC, 0), Export("b", ExternKind.FUNC, 0))))
    invalid(func_module(exports=(Export("a", ExternKind.FUNC, 0),
                                 Export("a", ExternKind.MEMORY, 0)), memories=MEMORY),
            "duplicate export name")
    invalid(func_module(exports=(Export("t", ExternKind.TABLE, 0),)), "unknown table 0")
    invalid(func_module(exports=(Export("g", ExternKind.GLOBAL, 2),)), "unknown global 2")


def test_unknown_type_of_function_and_import():
    invalid(DecodedModule(functions=(Function(0, (), (END,)),)), "unknown type 0")
    invalid(DecodedModule(imports=(Import("m", "f", ExternKind.FUNC, 3),)), "unknown type 3")


# -- feature flags ---------------------------------------------------------------------------

def test_simd_flag():
    module = func_module((op.V128_CONST, 0), (op.DROP,))
    ok(module)
    invalid(module, "simd", WasmFeatures(simd=False))
    invalid(func_module(locals=(V128,)), "invalid value type", WasmFeatures(simd=False))


def test_reference_types_flag():
    no_refs = WasmFeatures(reference_types=False)
    invalid(DecodedModule(tables=TABLE * 2), "multiple tables", no_refs)
    invalid(func_module(i32c(), (op.CALL_INDIRECT, 0, 1), tables=TABLE), "unknown table 1",
            no_refs)
    invalid(func_module((op.REF_NULL, FUNCREF), (op.DROP,)), "reference_types", no_refs)
    invalid(func_module(locals=(EXTERNREF,)), "invalid value type", no_refs)


def test_other_flags():
    invalid(func_module(i32c(), (op.I32_EXTEND8_S,), (op.DROP,)), "sign_extension",
            WasmFeatures(sign_extension=False))
    invalid(func_module((op.F32_CONST, 0), (op.I32_TRUNC_SAT_F32_S,), (op.DROP,)),
            "saturating_float_to_int", WasmFeatures(saturating_float_to_int=False))
    invalid(func_module(i32c(), i32c(), i32c(), (op.MEMORY_FILL, 0), memories=MEMORY),
            "bulk_memory", WasmFeatures(bulk_memory=False))
    mutable = (Import("m", "g", ExternKind.GLOBAL, GlobalType(I32, True)),)
    invalid(DecodedModule(imports=mutable), "mutable", WasmFeatures(mutable_globals=False))


def test_tail_calls():
    tail = WasmFeatures(tail_call=True)
    module = func_module(i32c(), (op.RETURN_CALL, 0), params=(I32,))
    invalid(module, "tail_call")
    ok(module, tail)
    invalid(func_module((op.RETURN_CALL, 1), results=(I32,), types=(FuncType(),),
                        functions=(Function(1, (), (END,)),)),
            "type mismatch", tail)  # the callee's results must equal the caller's
    ok(func_module(i32c(), (op.RETURN_CALL_INDIRECT, 0, 0), tables=TABLE), tail)
    # return_call ends the block: what follows is unreachable
    ok(func_module(i32c(), (op.RETURN_CALL, 0), (op.I32_ADD,), (op.DROP,), params=(I32,)), tail)


def test_memory64():
    memory = (MemoryType(Limits(1), is_64=True),)
    module = func_module((op.I64_CONST, 0), (op.I32_LOAD, 2, 0, 0), (op.DROP,),
                         (op.MEMORY_SIZE, 0), (op.DROP,), memories=memory)
    invalid(module, "memory64")
    ok(module, WasmFeatures(memory64=True))
    invalid(func_module(i32c(), (op.I32_LOAD, 2, 0, 0), (op.DROP,), memories=memory),
            "type mismatch", WasmFeatures(memory64=True))


def test_every_opcode_has_a_signature():
    table = instruction_table(ALL_FEATURES)
    missing = [op.NAMES[code] for code in op.NAMES if code not in table]
    assert not missing


# -- robustness: only ValidationError, whatever the input ------------------------------------

_IMMEDIATES = {
    "none": st.just(()),
    "blocktype": st.tuples(st.sampled_from([EMPTY, -1, -2, -5, -16, -17, -20, 0, 1, 9])),
    "label": st.tuples(st.integers(0, 3)), "func": st.tuples(st.integers(0, 2)),
    "local": st.tuples(st.integers(0, 3)), "global": st.tuples(st.integers(0, 2)),
    "table": st.tuples(st.integers(0, 2)), "memory": st.tuples(st.integers(0, 1)),
    "data": st.tuples(st.integers(0, 1)), "elem": st.tuples(st.integers(0, 1)),
    "i32": st.tuples(st.integers(-5, 5)), "i64": st.tuples(st.integers(-5, 5)),
    "f32": st.tuples(st.just(0)), "f64": st.tuples(st.just(0)),
    "v128": st.tuples(st.just(0)), "lane": st.tuples(st.integers(0, 40)),
    "reftype": st.tuples(st.sampled_from([FUNCREF, EXTERNREF, I32])),
    "select_t": st.tuples(st.lists(st.sampled_from([I32, F64, FUNCREF]), max_size=2)
                          .map(tuple)),
    "br_table": st.tuples(st.lists(st.integers(0, 3), max_size=3).map(tuple),
                          st.integers(0, 3)),
    "call_indirect": st.tuples(st.integers(0, 2), st.integers(0, 1)),
    "memarg": st.tuples(st.integers(0, 5), st.integers(0, 8), st.integers(0, 1)),
    "memarg_lane": st.tuples(st.integers(0, 5), st.integers(0, 8), st.integers(0, 1),
                             st.integers(0, 20)),
    "memory_init": st.tuples(st.integers(0, 1), st.integers(0, 1)),
    "memory_copy": st.tuples(st.integers(0, 1), st.integers(0, 1)),
    "table_init": st.tuples(st.integers(0, 1), st.integers(0, 1)),
    "table_copy": st.tuples(st.integers(0, 1), st.integers(0, 1)),
    "shuffle": st.tuples(st.lists(st.integers(0, 33), min_size=15, max_size=16).map(tuple)),
}
_instruction = st.sampled_from(sorted(op.NAMES)).flatmap(
    lambda code: _IMMEDIATES[op.IMMEDIATES[code]].map(lambda imm: (code, *imm)))

_FUZZ_CONTEXT = dict(
    types=(FuncType((I32,), (I32,)), FuncType((), (I32, I64))),
    imports=(Import("m", "g", ExternKind.GLOBAL, GlobalType(I32, True)),),
    tables=TABLE, memories=MEMORY,
    globals=(Global(GlobalType(F64), ((op.F64_CONST, 0), END)),),
    elements=(ElementSegment(FUNCREF, (((op.REF_FUNC, 0), END),), SegmentMode.PASSIVE),),
    datas=(DataSegment(b"", SegmentMode.PASSIVE),), data_count=1,
)


@settings(max_examples=400, deadline=None, database=None)
@given(st.lists(_instruction, max_size=12), st.booleans())
def test_fuzz_random_bodies_raise_only_validation_errors(body, all_features):
    module = DecodedModule(functions=(Function(0, (I64, V128), (*body, END)),), **_FUZZ_CONTEXT)
    try:
        validate_module(module, ALL_FEATURES if all_features else WASM_2_0)
    except ValidationError as error:
        # well-shaped immediates: a "malformed" fallback message would hide a validator bug
        assert "malformed" not in str(error)


@pytest.mark.parametrize("module", [
    DecodedModule(functions=(Function(0, (), ()),), types=(FuncType(),)),
    DecodedModule(functions=(Function(0, (), ((op.BLOCK, EMPTY),)),), types=(FuncType(),)),
    DecodedModule(functions=(Function(0, (), ((), END)),), types=(FuncType(),)),
    DecodedModule(functions=(Function(0, (), ((0x6A, 1, 2, 3, 4), END)),),
                  types=(FuncType(),)),
    DecodedModule(functions=(Function(0, (), ((0xFF,), END)),), types=(FuncType(),)),
    DecodedModule(functions=(Function(0, (), (END, END)),), types=(FuncType(),)),
    DecodedModule(functions=(Function(0, (), ((op.ELSE,), END)),), types=(FuncType(),)),
    DecodedModule(globals=(Global(GlobalType(I32), ()),)),
    DecodedModule(types=(FuncType((0x12,)),)),
    DecodedModule(imports=(Import("m", "x", ExternKind.TAG, 0),)),
])
def test_malformed_data_raises_validation_error(module):
    with pytest.raises(ValidationError):
        validate_module(module)


def test_deep_nesting_does_not_recurse():
    depth = 20_000
    body = [(op.BLOCK, EMPTY)] * depth + [END] * depth
    ok(func_module(*body))


def test_hot_loop_kind_literals_match_their_names():
    """The body loop compares kinds as literals (`kind == 6:  # K_END`) for speed."""
    import inspect
    import re

    from wasmcore.valid import _code, _instructions

    source = inspect.getsource(_code.validate_function)
    pairs = re.findall(r"kind == (\d+)(?: or kind == (\d+))?:  # (K_\w+)(?:[^\n]*?(K_\w+))?",
                       source)
    assert len(pairs) >= 20
    for first, second, first_name, second_name in pairs:
        assert getattr(_instructions, first_name) == int(first), first_name
        if second:
            assert getattr(_instructions, second_name) == int(second), second_name
