"""Module validation: types, imports, limits, constant expressions, segments, start, exports.

Spec: https://webassembly.github.io/spec/core/valid/modules.html
"""

from __future__ import annotations

from wasmcore.kernel.limits import MAX_MEMORY_PAGES_32, MAX_MEMORY_PAGES_64, MAX_TABLE_INDEX
from wasmcore.errors import ValidationError
from wasmcore.syntax.features import WasmFeatures
from wasmcore.syntax.types import DecodedModule, ExternKind, SegmentMode
from wasmcore.valid._code import Context, type_name, validate_function
from wasmcore.valid._instructions import (
    EXTERNREF, F32, F64, FUNCREF, I32, I64, V128, instruction_table,
)

_I32_CONST, _I64_CONST, _F32_CONST, _F64_CONST = 0x41, 0x42, 0x43, 0x44
_GLOBAL_GET, _REF_NULL, _REF_FUNC, _END = 0x23, 0xD0, 0xD2, 0x0B
_V128_CONST = 0xFD000C
# extended-const: i32/i64 add, sub, mul
_EXTENDED = {0x6A: I32, 0x6B: I32, 0x6C: I32, 0x7C: I64, 0x7D: I64, 0x7E: I64}
_CONST_PUSH = {_I32_CONST: I32, _I64_CONST: I64, _F32_CONST: F32, _F64_CONST: F64}


def _value_types(features: WasmFeatures) -> frozenset[int]:
    types = {I32, I64, F32, F64}
    if features.simd:
        types.add(V128)
    if features.reference_types:
        types |= {FUNCREF, EXTERNREF}
    return frozenset(types)


def _reference_types(features: WasmFeatures) -> frozenset[int]:
    return frozenset({FUNCREF, EXTERNREF} if features.reference_types else {FUNCREF})


def _value_type(value_type, allowed: frozenset[int], what: str) -> int:
    try:
        number = int(value_type)
    except (TypeError, ValueError):
        raise ValidationError(f"invalid value type {value_type!r} in {what}") from None
    if number not in allowed:
        raise ValidationError(f"invalid value type {type_name(number)} in {what}")
    return number


def _check_limits(limits, bound: int, message: str) -> None:
    if limits.min > bound:
        raise ValidationError(message)
    if limits.max is not None:
        if limits.max > bound:
            raise ValidationError(message)
        if limits.min > limits.max:
            raise ValidationError("size minimum must not be greater than maximum")


def _check_table_type(table_type, references: frozenset[int], what: str) -> int:
    element = _value_type(table_type.element, references, what)
    _check_limits(table_type.limits, MAX_TABLE_INDEX, "table size must be at most 2^32-1")
    return element


def _check_memory_type(memory_type, features: WasmFeatures) -> int:
    is_64 = bool(getattr(memory_type, "is_64", False))
    if is_64 and not features.memory64:
        raise ValidationError("64-bit memories need the memory64 feature")
    if is_64:
        _check_limits(memory_type.limits, MAX_MEMORY_PAGES_64,
                      "memory size must be at most 2^48 pages")
    else:
        _check_limits(memory_type.limits, MAX_MEMORY_PAGES_32,
                      "memory size must be at most 65536 pages (4GiB)")
    if memory_type.shared:
        if not features.threads:
            raise ValidationError("shared memories need the threads feature")
        if memory_type.limits.max is None:
            raise ValidationError("shared memory must have maximum")
    return I64 if is_64 else I32


class _ConstantChecker:
    """Validates constant expressions.

    https://webassembly.github.io/spec/core/valid/instructions.html#constant-expressions
    """

    def __init__(self, features, value_types, references, globals_, funcs_count):
        self.features = features
        self.value_types = value_types
        self.references = references
        self.globals = globals_
        self.funcs_count = funcs_count

    def check(self, expr, expected: int, visible_globals: int, what: str) -> None:
        stack: list[int] = []
        if not isinstance(expr, tuple) or not expr or expr[-1] != (_END,):
            raise ValidationError(f"constant expression required in {what}: missing end")
        for ins in expr[:-1]:
            if not isinstance(ins, tuple) or not ins:
                raise ValidationError(f"constant expression required in {what}")
            op = ins[0]
            pushed = _CONST_PUSH.get(op)
            if pushed is not None:
                stack.append(pushed)
            elif op == _V128_CONST and self.features.simd:
                stack.append(V128)
            elif op == _REF_NULL and (self.features.reference_types or
                                      self.features.bulk_memory):
                t = _value_type(ins[1], self.references, f"ref.null in {what}")
                stack.append(t)
            elif op == _REF_FUNC and (self.features.reference_types or
                                      self.features.bulk_memory):
                if not 0 <= ins[1] < self.funcs_count:
                    raise ValidationError(f"unknown function {ins[1]}")
                stack.append(FUNCREF)
            elif op == _GLOBAL_GET:
                index = ins[1]
                if not 0 <= index < visible_globals:
                    raise ValidationError(f"unknown global {index}")
                t, mutable = self.globals[index]
                if mutable:
                    raise ValidationError(f"constant expression required in {what}: "
                                          f"global.get of mutable global {index}")
                stack.append(t)
            elif op in _EXTENDED and self.features.extended_const:
                t = _EXTENDED[op]
                if stack[-2:] != [t, t]:
                    raise ValidationError(f"type mismatch in {what}: {type_name(t)} operands "
                                          "expected")
                del stack[-1]
            else:
                raise ValidationError(f"constant expression required in {what}")
        if stack != [expected]:
            raise ValidationError(f"type mismatch in {what}: expected [{type_name(expected)}]"
                                  f", got [{' '.join(type_name(t) for t in stack)}]")


def _declared_refs(module: DecodedModule) -> set[int]:
    """C.refs: functions referenced outside function bodies (elements, globals, exports)."""
    refs: set[int] = set()
    expressions = [g.init for g in module.globals]
    for segment in module.elements:
        expressions.extend(segment.init)
    for expr in expressions:
        if isinstance(expr, tuple):
            for ins in expr:
                if isinstance(ins, tuple) and len(ins) == 2 and ins[0] == _REF_FUNC:
                    refs.add(ins[1])
    for export in module.exports:
        if export.kind == ExternKind.FUNC:
            refs.add(export.index)
    return refs


def validate_module(module: DecodedModule, features: WasmFeatures) -> None:
    value_types = _value_types(features)
    references = _reference_types(features)

    # Types: (params list, results tuple) as plain ints.
    types: list[tuple[list[int], tuple[int, ...]]] = []
    block_types: list = []
    for index, func_type in enumerate(module.types):
        what = f"type {index}"
        params = [_value_type(t, value_types, what) for t in func_type.params]
        results = tuple(_value_type(t, value_types, what) for t in func_type.results)
        if len(results) > 1 and not features.multi_value:
            raise ValidationError(f"invalid result arity: type {index} has {len(results)} "
                                  "results (multi_value disabled)")
        types.append((params, results))
        simple = not params and len(results) <= 1
        block_types.append((tuple(params), results) if simple or features.multi_value
                           else None)

    funcs: list = []
    tables: list[int] = []
    memories: list[int] = []
    globals_: list[tuple[int, bool]] = []
    for number, imported in enumerate(module.imports):
        what = f"import {number} ({imported.module!r} {imported.name!r})"
        kind = imported.kind
        if kind == ExternKind.FUNC:
            if not isinstance(imported.desc, int) or not 0 <= imported.desc < len(types):
                raise ValidationError(f"unknown type {imported.desc}")
            funcs.append(types[imported.desc])
        elif kind == ExternKind.TABLE:
            tables.append(_check_table_type(imported.desc, references, what))
        elif kind == ExternKind.MEMORY:
            memories.append(_check_memory_type(imported.desc, features))
        elif kind == ExternKind.GLOBAL:
            global_type = imported.desc
            t = _value_type(global_type.value_type, value_types, what)
            if global_type.mutable and not features.mutable_globals:
                raise ValidationError("mutable globals cannot be imported without the "
                                      "mutable_globals feature")
            globals_.append((t, bool(global_type.mutable)))
        else:
            raise ValidationError(f"unsupported import kind {kind!r} in {what}")
    imported_funcs = len(funcs)
    imported_globals = len(globals_)

    for index, function in enumerate(module.functions):
        if not 0 <= function.type_index < len(types):
            raise ValidationError(f"unknown type {function.type_index}",
                                  func_index=imported_funcs + index)
        funcs.append(types[function.type_index])
    for index, table_type in enumerate(module.tables):
        tables.append(_check_table_type(table_type, references, f"table {index}"))
    if len(tables) > 1 and not features.reference_types:
        raise ValidationError("multiple tables")
    for memory_type in module.memories:
        memories.append(_check_memory_type(memory_type, features))
    if len(memories) > 1 and not features.multi_memory:
        raise ValidationError("multiple memories")

    constants = _ConstantChecker(features, value_types, references, globals_, len(funcs))
    # Wasm 2.0: constant expressions see imported globals only; GC (3.0) adds earlier ones.
    later_globals_visible = features.gc or features.function_references
    for index, global_ in enumerate(module.globals):
        what = f"global {imported_globals + index}"
        t = _value_type(global_.type.value_type, value_types, what)
        visible = len(globals_) if later_globals_visible else imported_globals
        constants.check(global_.init, t, visible, f"initializer of {what}")
        globals_.append((t, bool(global_.type.mutable)))
    segment_globals = len(globals_) if later_globals_visible else imported_globals

    elems: list[int] = []
    for index, segment in enumerate(module.elements):
        what = f"elem segment {index}"
        t = _value_type(segment.type, references, what)
        for expr in segment.init:
            # Fast path for the common `ref.func x` item (the binary's function-index form).
            if (len(expr) == 2 and t == FUNCREF and expr[1] == (_END,)
                    and len(expr[0]) == 2 and expr[0][0] == _REF_FUNC
                    and expr[0][1].__class__ is int and 0 <= expr[0][1] < len(funcs)):
                continue
            constants.check(expr, t, segment_globals, what)
        if segment.mode == SegmentMode.ACTIVE:
            if not 0 <= segment.table < len(tables):
                raise ValidationError(f"unknown table {segment.table}")
            if segment.offset is None:
                raise ValidationError(f"active {what} has no offset")
            constants.check(segment.offset, I32, segment_globals, f"offset of {what}")
            if tables[segment.table] != t:
                raise ValidationError(f"type mismatch: {what} of {type_name(t)} for table "
                                      f"{segment.table} of {type_name(tables[segment.table])}")
        elems.append(t)

    for index, segment in enumerate(module.datas):
        if segment.mode == SegmentMode.ACTIVE:
            if not 0 <= segment.memory < len(memories):
                raise ValidationError(f"unknown memory {segment.memory}")
            if segment.offset is None:
                raise ValidationError(f"active data segment {index} has no offset")
            constants.check(segment.offset, memories[segment.memory], segment_globals,
                            f"offset of data segment {index}")

    if module.start is not None:
        if not 0 <= module.start < len(funcs):
            raise ValidationError(f"unknown function {module.start}")
        params, results = funcs[module.start]
        if params or results:
            raise ValidationError("start function must have type [] -> []")

    names: set[str] = set()
    spaces = {ExternKind.FUNC: (len(funcs), "function"), ExternKind.TABLE: (len(tables), "table"),
              ExternKind.MEMORY: (len(memories), "memory"),
              ExternKind.GLOBAL: (len(globals_), "global")}
    for export in module.exports:
        if export.name in names:
            raise ValidationError(f"duplicate export name {export.name!r}")
        names.add(export.name)
        space = spaces.get(export.kind)
        if space is None:
            raise ValidationError(f"unsupported export kind {export.kind!r}")
        if not 0 <= export.index < space[0]:
            raise ValidationError(f"unknown {space[1]} {export.index}")
        if (export.kind == ExternKind.GLOBAL and globals_[export.index][1]
                and not features.mutable_globals):
            raise ValidationError("mutable globals cannot be exported without the "
                                  "mutable_globals feature")

    value_block_types = {-64: ((), ())}
    for t in value_types:
        value_block_types[t - 0x80] = ((), (t,))
    ctx = Context(table=instruction_table(features), features=features, types=types,
                  block_types=block_types, value_block_types=value_block_types, funcs=funcs,
                  tables=tables, memories=memories, globals=globals_, elems=elems,
                  data_count=len(module.datas), refs=_declared_refs(module),
                  value_types=value_types)
    issuperset = value_types.issuperset
    for index, function in enumerate(module.functions):
        func_index = imported_funcs + index
        local_types = function.locals
        if not issuperset(local_types):
            for t in local_types:
                _value_type(t, value_types, f"locals of function {func_index}")
        validate_function(ctx, func_index, function.type_index, [*map(int, local_types)],
                          function.body, function.offset)
