"""Function-body validation: the spec's validation algorithm, one flat loop per body.

Spec: https://webassembly.github.io/spec/core/appendix/algorithm.html

The operand stack is a list of ints (ValueType numbers, `UNKNOWN` = 0 for the algorithm's
Unknown). Control frames are tuples `(opcode, params, results, label_types, height,
parent_unreachable)`; the current frame's height and unreachable flag live in locals, and a
`_MARK` entry sits below each frame's operands. Every instruction first tries an exact fast
check of the stack top; only on failure (a real error, or stack-polymorphic code after
`unreachable`/`br`/...) do the generic `_pop*` helpers, which follow the algorithm, run.
Immediates are trusted to be in range optimistically: an IndexError/KeyError raised by a lookup
is turned into the precise "unknown ..." message by `_diagnose`.
"""

from __future__ import annotations

from wasmcore.errors import ValidationError
from wasmcore.syntax.opcodes import NAMES
from wasmcore.valid._instructions import (
    EXTERNREF, F32, F64, FUNCREF, I32, I64, K_BLOCK, K_BR, K_BR_IF, K_BR_TABLE, K_CALL,
    K_CALL_INDIRECT, K_DATA_DROP, K_ELEM_DROP, K_GENERIC, K_GLOBAL_GET, K_GLOBAL_SET, K_IF,
    K_LANE, K_LOAD, K_LOAD_LANE, K_LOCAL_GET, K_LOCAL_SET, K_LOCAL_TEE, K_MEMORY,
    K_MEMORY_COPY, K_MEMORY_INIT, K_REF_FUNC, K_REF_IS_NULL, K_REF_NULL, K_RETURN_CALL,
    K_RETURN_CALL_INDIRECT, K_SELECT_T, K_SHUFFLE, K_STORE, K_TABLE, K_TABLE_COPY,
    K_TABLE_INIT, UNKNOWN, V128, feature_of,
)

_TYPE_NAMES = {I32: "i32", I64: "i64", F32: "f32", F64: "f64", V128: "v128",
               FUNCREF: "funcref", EXTERNREF: "externref", UNKNOWN: "any"}
_ALIGN_MESSAGE = "alignment must not be larger than natural"
_MARK = -1  # operand-stack entry below each frame's operands (never equal to a type)


def type_name(value_type: int) -> str:
    return _TYPE_NAMES.get(value_type, f"<type {value_type:#x}>")


def _types_text(types) -> str:
    return "[" + " ".join(type_name(t) for t in types) + "]"


class Context:
    """What a function body may refer to (the spec's context C), as plain ints and lists.

    `types`/`funcs` hold `(params list, results tuple)`; `block_types` is None for a type a
    block may not use (multi-value disabled); `memories` holds each memory's address type.
    """

    __slots__ = ("table", "features", "types", "block_types", "value_block_types", "funcs",
                 "tables", "memories", "globals", "elems", "data_count", "refs",
                 "value_types")

    def __init__(self, *, table, features, types, block_types, value_block_types, funcs,
                 tables, memories, globals, elems, data_count, refs, value_types):
        self.table = table
        self.features = features
        self.types = types
        self.block_types = block_types
        self.value_block_types = value_block_types
        self.funcs = funcs
        self.tables = tables
        self.memories = memories
        self.globals = globals
        self.elems = elems
        self.data_count = data_count
        self.refs = refs
        self.value_types = value_types


# --- slow paths (errors and stack-polymorphic code) ---------------------------------------

def _mismatch(expected, actual) -> ValidationError:
    if actual is None:
        return ValidationError(f"type mismatch: expected {type_name(expected)}, "
                               "but the stack is empty")
    return ValidationError(f"type mismatch: expected {type_name(expected)}, "
                           f"got {type_name(actual)}")


def _pop(stack: list, height: int, unreachable: bool, expected: int) -> int:
    """pop_val(expected); expected UNKNOWN accepts any operand."""
    if len(stack) == height:
        if unreachable:
            return UNKNOWN
        raise _mismatch(expected, None)
    actual = stack.pop()
    if expected and actual and actual != expected:
        raise _mismatch(expected, actual)
    return actual


def _pop_types(stack: list, height: int, unreachable: bool, types) -> None:
    for expected in reversed(types):
        _pop(stack, height, unreachable, expected)


def _pop_push(stack: list, height: int, unreachable: bool, pops, pushes) -> None:
    _pop_types(stack, height, unreachable, pops)
    stack.extend(pushes)


def _top_matches(stack: list, height: int, types) -> bool:
    """Whether the current frame's operands end with exactly `types` (no Unknowns)."""
    n = len(types)
    if n == 0:
        return True
    if len(stack) - height < n:
        return False
    if n == 1:
        return stack[-1] == types[0]
    return tuple(stack[-n:]) == tuple(types)


def _end_slow(stack: list, height: int, unreachable: bool, results) -> None:
    """pop_vals(results); the frame must then be empty; push the results."""
    _pop_types(stack, height, unreachable, results)
    if len(stack) != height:
        raise ValidationError(f"type mismatch: {len(stack) - height} extra value(s) left at "
                              f"the end of a block with results {_types_text(results)}")
    stack.extend(results)


def _select_slow(stack: list, height: int, unreachable: bool) -> None:
    _pop(stack, height, unreachable, I32)
    t1 = _pop(stack, height, unreachable, UNKNOWN)
    t2 = _pop(stack, height, unreachable, UNKNOWN)
    # Untyped select takes numeric or vector operands only (Unknown is both).
    if not ((t1 == UNKNOWN or t1 >= V128) and (t2 == UNKNOWN or t2 >= V128)):
        raise ValidationError("type mismatch: select without a type needs numeric or vector "
                              f"operands, got {type_name(t2)} and {type_name(t1)}")
    if t1 != t2 and t1 and t2:
        raise ValidationError(f"type mismatch: select operands {type_name(t2)} and "
                              f"{type_name(t1)} differ")
    stack.append(t2 if t1 == UNKNOWN else t1)


def _br_table_slow(stack, height, unreachable, ctrls, labels, default) -> None:
    _pop(stack, height, unreachable, I32)
    depth = len(ctrls)
    if default >= depth:
        raise ValidationError(f"unknown label {default}")
    arity = len(ctrls[-1 - default][3])
    for label in labels:
        if label >= depth:
            raise ValidationError(f"unknown label {label}")
        types = ctrls[-1 - label][3]
        if len(types) != arity:
            raise ValidationError("type mismatch: br_table targets have different arities")
        # push_vals(pop_vals(...)) puts back what was popped: Unknowns stay Unknown.
        popped = [_pop(stack, height, unreachable, t) for t in reversed(types)]
        popped.reverse()
        stack.extend(popped)
    _pop_types(stack, height, unreachable, ctrls[-1 - default][3])


def _memarg_address(ctx: Context, memory: int, align: int, natural: int) -> int:
    """Check a memarg's memory and alignment; return the memory's address type."""
    if memory >= len(ctx.memories):
        raise ValidationError(f"unknown memory {memory}")
    if align > natural:
        raise ValidationError(_ALIGN_MESSAGE)
    return ctx.memories[memory]


def _diagnose(ctx: Context, ins: tuple, locals_: list, ctrls: list) -> str:
    """The message for an instruction whose optimistic lookup failed."""
    if not isinstance(ins, tuple) or not ins:
        return f"malformed instruction {ins!r}"
    op = ins[0]
    entry = ctx.table.get(op)
    if entry is None:
        name = NAMES.get(op)
        if name is None:
            return f"unknown opcode {op:#x}"
        feature = feature_of(op)
        return f"instruction {name} requires the {feature or 'corresponding'} feature"
    kind = entry[0]
    try:
        if kind in (K_LOCAL_GET, K_LOCAL_SET, K_LOCAL_TEE):
            if not 0 <= ins[1] < len(locals_):
                return f"unknown local {ins[1]}"
        elif kind in (K_GLOBAL_GET, K_GLOBAL_SET):
            if not 0 <= ins[1] < len(ctx.globals):
                return f"unknown global {ins[1]}"
        elif kind in (K_BR, K_BR_IF):
            if not 0 <= ins[1] < len(ctrls):
                return f"unknown label {ins[1]}"
        elif kind == K_BR_TABLE:
            for label in (*ins[1], ins[2]):
                if not 0 <= label < len(ctrls):
                    return f"unknown label {label}"
        elif kind in (K_CALL, K_RETURN_CALL, K_REF_FUNC):
            if not 0 <= ins[1] < len(ctx.funcs):
                return f"unknown function {ins[1]}"
        elif kind in (K_CALL_INDIRECT, K_RETURN_CALL_INDIRECT):
            if not 0 <= ins[2] < len(ctx.tables):
                return f"unknown table {ins[2]}"
            if not 0 <= ins[1] < len(ctx.types):
                return f"unknown type {ins[1]}"
        elif kind in (K_BLOCK, K_IF):
            blocktype = ins[1]
            if blocktype >= 0:
                return f"unknown type {blocktype}"
            return f"invalid block type {blocktype}"
        elif kind in (K_LOAD, K_STORE, K_LOAD_LANE, K_MEMORY):
            memory = ins[3] if kind != K_MEMORY else ins[1]
            if not 0 <= memory < len(ctx.memories):
                return f"unknown memory {memory}"
        elif kind == K_MEMORY_COPY:
            for memory in ins[1:3]:
                if not 0 <= memory < len(ctx.memories):
                    return f"unknown memory {memory}"
        elif kind == K_MEMORY_INIT:
            if not 0 <= ins[2] < len(ctx.memories):
                return f"unknown memory {ins[2]}"
        elif kind in (K_TABLE, K_TABLE_COPY):
            for table in ins[1:]:
                if not 0 <= table < len(ctx.tables):
                    return f"unknown table {table}"
        elif kind == K_TABLE_INIT:
            if not 0 <= ins[2] < len(ctx.tables):
                return f"unknown table {ins[2]}"
            if not 0 <= ins[1] < len(ctx.elems):
                return f"unknown elem segment {ins[1]}"
        elif kind == K_ELEM_DROP:
            if not 0 <= ins[1] < len(ctx.elems):
                return f"unknown elem segment {ins[1]}"
        elif kind in (K_REF_NULL, K_SELECT_T):
            return f"invalid value type in {NAMES.get(op, op)}"
    except (IndexError, TypeError, ValueError):
        pass
    return f"malformed immediates for {NAMES.get(op, hex(op))}: {ins[1:]!r}"


# --- the loop -----------------------------------------------------------------------------

def validate_function(ctx: Context, func_index: int, type_index: int, local_types: list,
                      body, body_offset: int | None = None) -> None:
    """Validate one function body against its type; raise ValidationError.

    Speed notes (this loop is the validator's hot path): instruction kinds are compared as
    literals (the `K_*` name is in a comment; LOAD_CONST beats a global lookup) in order of
    frequency in compiled code; each frame's operands sit above a `_MARK` (-1) entry, so a
    fast-path check `stack[-1] == t` can never read past the frame and needs no len().
    """
    try:
        params, results = ctx.types[type_index]
    except IndexError:
        raise ValidationError(f"unknown type {type_index}", func_index=func_index) from None
    results = tuple(results)
    locals_ = [*params, *local_types]
    table = ctx.table
    memories = ctx.memories
    globals_ = ctx.globals
    funcs = ctx.funcs
    value_block_types = ctx.value_block_types
    stack: list[int] = [_MARK]
    append = stack.append
    pop = stack.pop
    # Control frames: (opcode, params, results, label types, height, parent unreachable).
    ctrls: list[tuple] = [(0x02, (), results, results, 1, False)]
    height = 1
    unreachable = False
    it = iter(body)
    try:
        for ins in it:
            op = ins[0]
            if op == 0x20:  # local.get: the most frequent instruction by far
                append(locals_[ins[1]])
                continue
            kind, a, b, c = table[op]
            if kind == 0:  # K_BINARY (a b -> c)
                if stack[-1] == b and stack[-2] == a:
                    pop()
                    stack[-1] = c
                else:
                    _pop_push(stack, height, unreachable, (a, b), (c,))
            elif kind == 2:  # K_CONST
                append(c)
            elif kind == 6:  # K_END
                frame = ctrls.pop()
                frame_results = frame[2]
                n = len(frame_results)
                if n == 0:
                    if stack[-1] != _MARK:
                        _end_slow(stack, height, unreachable, frame_results)
                    pop()
                elif n == 1 and stack[-1] == frame_results[0] and stack[-2] == _MARK:
                    del stack[-2]
                else:
                    if not (len(stack) - height == n and tuple(stack[height:]) == frame_results):
                        _end_slow(stack, height, unreachable, frame_results)
                    del stack[height - 1]
                if frame[0] == 0x04 and frame[1] != frame_results:  # if without else
                    raise ValidationError(
                        "type mismatch: if without else must have the same parameter and "
                        f"result types, got {_types_text(frame[1])} -> "
                        f"{_types_text(frame_results)}")
                if not ctrls:
                    if it.__length_hint__():
                        raise ValidationError("instructions after the function's final end")
                    return
                height = ctrls[-1][4]
                unreachable = frame[5]
            elif kind == 3:  # K_LOCAL_SET
                t = locals_[ins[1]]
                if stack[-1] == t:
                    pop()
                else:
                    _pop(stack, height, unreachable, t)
            elif kind == 4:  # K_LOCAL_TEE
                t = locals_[ins[1]]
                if stack[-1] != t:
                    _pop(stack, height, unreachable, t)
                    append(t)
            elif kind == 5 or kind == 11:  # K_BLOCK (block, loop), K_IF
                if kind == 11:
                    if stack[-1] == I32:
                        pop()
                    else:
                        _pop(stack, height, unreachable, I32)
                blocktype = ins[1]
                if blocktype < 0:
                    block_params, block_results = value_block_types[blocktype]
                else:
                    block_type = ctx.block_types[blocktype]
                    if block_type is None:
                        raise ValidationError(
                            "invalid result arity: block types with parameters or several "
                            "results need the multi_value feature")
                    block_params, block_results = block_type
                n = len(block_params)
                if n == 0:
                    append(_MARK)
                    new_height = len(stack)
                elif _top_matches(stack, height, block_params):
                    stack.insert(len(stack) - n, _MARK)
                    new_height = len(stack) - n
                else:
                    _pop_types(stack, height, unreachable, block_params)
                    append(_MARK)
                    new_height = len(stack)
                    stack.extend(block_params)
                ctrls.append((op, block_params, block_results,
                              block_params if op == 0x03 else block_results,
                              new_height, unreachable))
                height = new_height
                unreachable = False
            elif kind == 7:  # K_BR
                label_types = ctrls[-1 - ins[1]][3]
                if label_types and not (len(label_types) == 1 and stack[-1] == label_types[0]):
                    _pop_types(stack, height, unreachable, label_types)
                del stack[height:]
                unreachable = True
            elif kind == 9:  # K_LOAD: a = natural alignment, c = loaded type
                _, align, offset, memory = ins
                address = memories[memory]
                if align > a:
                    raise ValidationError(_ALIGN_MESSAGE)
                if offset >> 32 and address == I32:
                    raise ValidationError("offset out of range for a 32-bit memory")
                if stack[-1] == address:
                    stack[-1] = c
                else:
                    _pop(stack, height, unreachable, address)
                    append(c)
            elif kind == 1:  # K_UNARY (a -> c)
                if stack[-1] == a:
                    stack[-1] = c
                else:
                    _pop(stack, height, unreachable, a)
                    append(c)
            elif kind == 16:  # K_SELECT (untyped: numeric or vector operands)
                if stack[-1] == I32 and stack[-2] >= V128 and stack[-2] == stack[-3]:
                    pop()
                    pop()
                else:
                    _select_slow(stack, height, unreachable)
            elif kind == 10:  # K_STORE: a = natural alignment, b = stored type
                _, align, offset, memory = ins
                address = memories[memory]
                if align > a:
                    raise ValidationError(_ALIGN_MESSAGE)
                if offset >> 32 and address == I32:
                    raise ValidationError("offset out of range for a 32-bit memory")
                if stack[-1] == b and stack[-2] == address:
                    pop()
                    pop()
                else:
                    _pop(stack, height, unreachable, b)
                    _pop(stack, height, unreachable, address)
            elif kind == 15:  # K_CALL
                call_params, call_results = funcs[ins[1]]
                n = len(call_params)
                if n:
                    if len(stack) - height >= n and stack[-n:] == call_params:
                        del stack[-n:]
                    else:
                        _pop_types(stack, height, unreachable, call_params)
                if call_results:
                    stack.extend(call_results)
            elif kind == 12:  # K_ELSE
                frame = ctrls[-1]
                if frame[0] != 0x04:
                    raise ValidationError("else without a matching if")
                frame_results = frame[2]
                if not (len(stack) - height == len(frame_results)
                        and _top_matches(stack, height, frame_results)):
                    _end_slow(stack, height, unreachable, frame_results)
                del stack[height:]
                stack.extend(frame[1])
                ctrls[-1] = (0x05, *frame[1:])
                unreachable = False
            elif kind == 17:  # K_BR_TABLE
                labels = ins[1]
                default = ins[2]
                label_types = ctrls[-1 - default][3]
                fast = stack[-1] == I32
                if fast:
                    pop()
                    fast = _top_matches(stack, height, label_types)
                    if fast:
                        for label in labels:
                            if ctrls[-1 - label][3] != label_types:
                                fast = False
                                break
                    if not fast:
                        append(I32)  # redo it all on the slow path
                if not fast:
                    _br_table_slow(stack, height, unreachable, ctrls, labels, default)
                del stack[height:]
                unreachable = True
            elif kind == 8:  # K_BR_IF
                label_types = ctrls[-1 - ins[1]][3]
                if stack[-1] == I32:
                    pop()
                else:
                    _pop(stack, height, unreachable, I32)
                if not _top_matches(stack, height, label_types):
                    _pop_push(stack, height, unreachable, label_types, label_types)
            elif kind == 13:  # K_GLOBAL_GET
                append(globals_[ins[1]][0])
            elif kind == 14:  # K_GLOBAL_SET
                t, mutable = globals_[ins[1]]
                if not mutable:
                    raise ValidationError(f"global is immutable: global.set of global {ins[1]}")
                if stack[-1] == t:
                    pop()
                else:
                    _pop(stack, height, unreachable, t)
            elif kind == 18:  # K_DROP
                if stack[-1] != _MARK:
                    pop()
                elif not unreachable:
                    raise ValidationError("type mismatch: drop with an empty stack")
            elif kind == 19:  # K_RETURN
                if not _top_matches(stack, height, results):
                    _pop_types(stack, height, unreachable, results)
                del stack[height:]
                unreachable = True
            elif kind == 20:  # K_UNREACHABLE
                del stack[height:]
                unreachable = True
            elif kind == 21:  # K_NOP
                pass
            else:
                height, unreachable = _other(ctx, kind, a, b, c, ins, stack, height,
                                             unreachable, results)
        raise ValidationError("unexpected end of function body: missing end")
    except ValidationError as error:
        index = len(body) - it.__length_hint__() - 1
        raise _located(error.reason, func_index, index, body, body_offset) from None
    except (IndexError, KeyError, TypeError, ValueError, AttributeError):
        index = len(body) - it.__length_hint__() - 1
        message = _diagnose(ctx, body[index], locals_, ctrls)
        raise _located(message, func_index, index, body, body_offset) from None


def _located(message: str, func_index: int, index: int, body, body_offset) -> ValidationError:
    if 0 <= index < len(body):
        ins = body[index]
        name = NAMES.get(ins[0], "?") if isinstance(ins, tuple) and ins else "?"
        message = f"{message} [instruction {index}: {name}]"
    error = ValidationError(message, func_index=func_index, offset=body_offset or None)
    error.instruction_index = index
    return error


def _call_check(stack, height, unreachable, call_params, call_results) -> None:
    if not (len(stack) - height >= len(call_params)
            and _top_matches(stack, height, call_params)):
        _pop_types(stack, height, unreachable, call_params)
    else:
        del stack[len(stack) - len(call_params):]
    stack.extend(call_results)


def _indirect_type(ctx: Context, type_index: int, table_index: int):
    if not 0 <= table_index < len(ctx.tables):
        raise ValidationError(f"unknown table {table_index}")
    if not 0 <= type_index < len(ctx.types):
        raise ValidationError(f"unknown type {type_index}")
    if ctx.tables[table_index] != FUNCREF:
        raise ValidationError(f"type mismatch: call_indirect through table {table_index} of "
                              f"{type_name(ctx.tables[table_index])}, not funcref")
    return ctx.types[type_index]


def _other(ctx: Context, kind: int, a, b, c, ins: tuple, stack: list, height: int,
           unreachable: bool, results: tuple) -> tuple[int, bool]:
    """The less frequent instructions; returns the (possibly changed) height and flag."""
    if kind == K_CALL_INDIRECT:
        call_params, call_results = _indirect_type(ctx, ins[1], ins[2])
        _pop(stack, height, unreachable, I32)
        _call_check(stack, height, unreachable, call_params, call_results)
    elif kind == K_GENERIC:
        _pop_push(stack, height, unreachable, a, c)
    elif kind == K_LANE:  # a = lane count, b = scalar type, c = 1 for replace_lane
        if ins[1] >= a:
            raise ValidationError(f"invalid lane index {ins[1]} (at most {a - 1})")
        if c:
            _pop_push(stack, height, unreachable, (V128, b), (V128,))
        else:
            _pop_push(stack, height, unreachable, (V128,), (b,))
    elif kind == K_SHUFFLE:
        lanes = ins[1]
        if len(lanes) != 16:
            raise ValidationError("invalid lane index: i8x16.shuffle needs 16 lane indices")
        for lane in lanes:
            if not 0 <= lane < 32:
                raise ValidationError(f"invalid lane index {lane} (at most 31)")
        _pop_push(stack, height, unreachable, (V128, V128), (V128,))
    elif kind == K_LOAD_LANE:  # a = natural alignment, b = lane count, c = 1 for store
        _, align, offset, memory, lane = ins
        address = _memarg_address(ctx, memory, align, a)
        if lane >= b:
            raise ValidationError(f"invalid lane index {lane} (at most {b - 1})")
        _pop_push(stack, height, unreachable, (address, V128), () if c else (V128,))
    elif kind == K_SELECT_T:
        types = ins[1]
        if len(types) != 1:
            raise ValidationError(f"invalid result arity: typed select with {len(types)} "
                                  "result types")
        t = int(types[0])
        if t not in ctx.value_types:
            raise ValidationError(f"invalid value type in select: {t:#x}")
        _pop_push(stack, height, unreachable, (t, t, I32), (t,))
    elif kind == K_MEMORY:  # a: 0 memory.size, 1 memory.grow, 2 memory.fill
        memory = ins[1]
        if not 0 <= memory < len(ctx.memories):
            raise ValidationError(f"unknown memory {memory}")
        address = ctx.memories[memory]
        if a == 0:
            stack.append(address)
        elif a == 1:
            _pop_push(stack, height, unreachable, (address,), (address,))
        else:
            _pop_types(stack, height, unreachable, (address, I32, address))
    elif kind == K_MEMORY_COPY:
        destination, source = ins[1], ins[2]
        for memory in (destination, source):
            if not 0 <= memory < len(ctx.memories):
                raise ValidationError(f"unknown memory {memory}")
        d, s = ctx.memories[destination], ctx.memories[source]
        _pop_types(stack, height, unreachable, (d, s, I32 if I32 in (d, s) else I64))
    elif kind == K_MEMORY_INIT:
        data, memory = ins[1], ins[2]
        if not 0 <= memory < len(ctx.memories):
            raise ValidationError(f"unknown memory {memory}")
        if not 0 <= data < ctx.data_count:
            raise ValidationError(f"unknown data segment {data}")
        _pop_types(stack, height, unreachable, (ctx.memories[memory], I32, I32))
    elif kind == K_DATA_DROP:
        if not 0 <= ins[1] < ctx.data_count:
            raise ValidationError(f"unknown data segment {ins[1]}")
    elif kind == K_REF_NULL:
        t = int(ins[1])
        if t not in (FUNCREF, EXTERNREF) or t not in ctx.value_types:
            raise ValidationError(f"type mismatch: ref.null of a non-reference type {t:#x}")
        stack.append(t)
    elif kind == K_REF_IS_NULL:
        t = _pop(stack, height, unreachable, UNKNOWN)
        if t not in (FUNCREF, EXTERNREF, UNKNOWN):
            raise ValidationError(f"type mismatch: ref.is_null of {type_name(t)}")
        stack.append(I32)
    elif kind == K_REF_FUNC:
        func = ins[1]
        if not 0 <= func < len(ctx.funcs):
            raise ValidationError(f"unknown function {func}")
        if func not in ctx.refs:
            raise ValidationError(f"undeclared function reference {func}")
        stack.append(FUNCREF)
    elif kind == K_TABLE:  # a: 0 get, 1 set, 2 size, 3 grow, 4 fill
        table = ins[1]
        if not 0 <= table < len(ctx.tables):
            raise ValidationError(f"unknown table {table}")
        element = ctx.tables[table]
        if a == 0:
            _pop_push(stack, height, unreachable, (I32,), (element,))
        elif a == 1:
            _pop_types(stack, height, unreachable, (I32, element))
        elif a == 2:
            stack.append(I32)
        elif a == 3:
            _pop_push(stack, height, unreachable, (element, I32), (I32,))
        else:
            _pop_types(stack, height, unreachable, (I32, element, I32))
    elif kind == K_TABLE_COPY:
        destination, source = ins[1], ins[2]
        for table in (destination, source):
            if not 0 <= table < len(ctx.tables):
                raise ValidationError(f"unknown table {table}")
        if ctx.tables[destination] != ctx.tables[source]:
            raise ValidationError("type mismatch: table.copy between tables of "
                                  f"{type_name(ctx.tables[source])} and "
                                  f"{type_name(ctx.tables[destination])}")
        _pop_types(stack, height, unreachable, (I32, I32, I32))
    elif kind == K_TABLE_INIT:
        elem, table = ins[1], ins[2]
        if not 0 <= table < len(ctx.tables):
            raise ValidationError(f"unknown table {table}")
        if not 0 <= elem < len(ctx.elems):
            raise ValidationError(f"unknown elem segment {elem}")
        if ctx.tables[table] != ctx.elems[elem]:
            raise ValidationError(f"type mismatch: table.init of a {type_name(ctx.elems[elem])}"
                                  f" segment into a table of {type_name(ctx.tables[table])}")
        _pop_types(stack, height, unreachable, (I32, I32, I32))
    elif kind == K_ELEM_DROP:
        if not 0 <= ins[1] < len(ctx.elems):
            raise ValidationError(f"unknown elem segment {ins[1]}")
    elif kind == K_RETURN_CALL or kind == K_RETURN_CALL_INDIRECT:
        if kind == K_RETURN_CALL:
            func = ins[1]
            if not 0 <= func < len(ctx.funcs):
                raise ValidationError(f"unknown function {func}")
            call_params, call_results = ctx.funcs[func]
        else:
            call_params, call_results = _indirect_type(ctx, ins[1], ins[2])
            _pop(stack, height, unreachable, I32)
        if tuple(call_results) != results:
            raise ValidationError(f"type mismatch: tail call results "
                                  f"{_types_text(call_results)} differ from the function's "
                                  f"{_types_text(results)}")
        _pop_types(stack, height, unreachable, call_params)
        del stack[height:]
        unreachable = True
    else:
        raise ValidationError(f"unsupported instruction {NAMES.get(ins[0], ins[0])}")
    return height, unreachable
