"""Instantiation, the spec's steps in order (https://webassembly.github.io/spec/core/exec/modules.html#instantiation):
match imports, allocate, evaluate globals and element expressions, let the backend bind the
functions (`wasmcore_instantiate`), run active element then data segments, run the start
function. The only place where this order is written down."""

from __future__ import annotations

from typing import Any, Sequence

from wasmcore.errors import LinkError, Trap, TrapCode, WasmcoreError
from wasmcore.runtime import (FuncInstance, GlobalInstance, MemoryInstance, ModuleInstance,
                              TableInstance)
from wasmcore.syntax import opcodes as op
from wasmcore.syntax.types import ExternKind, SegmentMode

_MASKS = {op.I32_CONST: 0xFFFFFFFF, op.I64_CONST: 0xFFFFFFFFFFFFFFFF}
_BINARY = {
    op.I32_ADD: (lambda a, b: a + b, 0xFFFFFFFF), op.I32_SUB: (lambda a, b: a - b, 0xFFFFFFFF),
    op.I32_MUL: (lambda a, b: a * b, 0xFFFFFFFF),
    op.I64_ADD: (lambda a, b: a + b, 0xFFFFFFFFFFFFFFFF),
    op.I64_SUB: (lambda a, b: a - b, 0xFFFFFFFFFFFFFFFF),
    op.I64_MUL: (lambda a, b: a * b, 0xFFFFFFFFFFFFFFFF),
}


def evaluate_constant(expression: tuple, instance: ModuleInstance) -> Any:
    """Evaluate a (validated) constant expression to a value in the bits convention."""
    stack: list = []
    for instruction in expression:
        code = instruction[0]
        if code in _MASKS:
            stack.append(instruction[1] & _MASKS[code])
        elif code in (op.F32_CONST, op.F64_CONST, op.V128_CONST):
            stack.append(instruction[1])
        elif code == op.GLOBAL_GET:
            stack.append(instance.globals[instruction[1]].value)
        elif code == op.REF_NULL:
            stack.append(None)
        elif code == op.REF_FUNC:
            stack.append(instance.funcs[instruction[1]])
        elif code in _BINARY:
            function, mask = _BINARY[code]
            b, a = stack.pop(), stack.pop()
            stack.append(function(a, b) & mask)
        elif code == op.END:
            break
        else:
            raise WasmcoreError(f"unsupported instruction {op.NAMES.get(code, code)} in a constant expression")
    return stack[-1]


def _limits_match(actual, required) -> bool:
    if actual.min < required.min:
        return False
    if required.max is None:
        return True
    return actual.max is not None and actual.max <= required.max


def check_import(imp, expected: Any, provided: Any) -> None:
    """Raise LinkError unless `provided` (a runtime object) matches the import's type."""
    where = f"{imp.module}::{imp.name}"
    kind = imp.kind
    if kind == ExternKind.FUNC:
        ok = isinstance(provided, FuncInstance) and provided.type == expected
    elif kind == ExternKind.TABLE:
        ok = (isinstance(provided, TableInstance) and provided.type.element == expected.element
              and _limits_match(_current_limits(provided), expected.limits))
    elif kind == ExternKind.MEMORY:
        ok = (isinstance(provided, MemoryInstance) and provided.type.is_64 == expected.is_64
              and _limits_match(_current_limits(provided), expected.limits))
    else:
        ok = isinstance(provided, GlobalInstance) and provided.type == expected
    if not ok:
        raise LinkError(f"incompatible import type for `{where}`")


def _current_limits(provided):
    from wasmcore.syntax.types import Limits

    if isinstance(provided, TableInstance):
        return Limits(provided.size, provided.type.limits.max)
    return Limits(provided.pages, provided.type.limits.max)


def instantiate(store, module, externs: Sequence[Any]) -> ModuleInstance:
    """Instantiate `module` (a public Module) in `store` with runtime objects for its imports."""
    engine = store.engine
    if module.engine is not engine and module.engine.config.backend != engine.config.backend:
        raise WasmcoreError("module and store were made by engines with different backends")
    store._check_open()
    decoded = module._module
    if len(externs) != len(decoded.imports):
        raise LinkError(f"expected {len(decoded.imports)} imports, got {len(externs)}")
    instance = ModuleInstance(decoded, module._compiled, store)
    for imp, provided in zip(decoded.imports, externs):
        expected = decoded.types[imp.desc] if imp.kind == ExternKind.FUNC else imp.desc
        check_import(imp, expected, provided)
        (instance.funcs, instance.tables, instance.memories, instance.globals)[imp.kind].append(provided)

    # Host functions are adapted once, here, for the backend's calling convention: backends
    # never call hooks themselves while they instantiate.
    backend = engine.backend.name
    instance.host_calls = [
        engine.plugins.host_call(store, func, func.host, backend, instance)
        if func.host is not None else None
        for func in instance.funcs]

    allocation = engine.plugins.allocate(engine, store, decoded)
    instance.allocation = allocation
    store._track(allocation)
    instance.memories.extend(allocation.memories)
    instance.tables.extend(allocation.tables)

    names = decoded.names.functions
    first_defined = len(instance.funcs)
    for offset, function in enumerate(decoded.functions):
        index = first_defined + offset
        instance.funcs.append(FuncInstance(decoded.types[function.type_index], instance=instance,
                                           index=index, name=names.get(index)))
    for global_ in decoded.globals:
        instance.globals.append(GlobalInstance(global_.type, evaluate_constant(global_.init, instance)))
    instance.elements = [[evaluate_constant(e, instance) for e in segment.init]
                         for segment in decoded.elements]
    instance.datas = [segment.init for segment in decoded.datas]
    instance.exports = {export.name: (instance.funcs, instance.tables, instance.memories,
                                      instance.globals)[export.kind][export.index]
                        for export in decoded.exports}
    instance.handle = engine.plugins.instantiate(store, module._compiled, instance)

    for index, segment in enumerate(decoded.elements):
        if segment.mode == SegmentMode.ACTIVE:
            start = evaluate_constant(segment.offset, instance)
            table = instance.tables[segment.table]
            items = instance.elements[index]
            if start + len(items) > table.size:
                raise Trap(TrapCode.TABLE_OUT_OF_BOUNDS, "out of bounds table access")
            table.set_range(start, items)
        if segment.mode != SegmentMode.PASSIVE:
            instance.elements[index] = []
    for index, segment in enumerate(decoded.datas):
        if segment.mode == SegmentMode.ACTIVE:
            start = evaluate_constant(segment.offset, instance)
            memory = instance.memories[segment.memory]
            if start + len(segment.init) > memory.size:
                raise Trap(TrapCode.MEMORY_OUT_OF_BOUNDS)
            memory.data[start:start + len(segment.init)] = segment.init
            instance.datas[index] = b""
    store.instances.append(instance)
    if decoded.start is not None:
        try:
            instance.funcs[decoded.start].invoke()
        except RecursionError:
            raise Trap(TrapCode.STACK_OVERFLOW) from None
    return instance
