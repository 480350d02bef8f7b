"""WAST scripts: the spec testsuite's command language on top of the text format."""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Any

from wasmcore.errors import DecodeError
from wasmcore.syntax.types import DecodedModule
from wasmcore.text._lexer import Node, WStr, head, is_id, read_sexprs
from wasmcore.text._module import build_module
from wasmcore.text._numbers import LANE_SHAPES, lane_value, parse_float, parse_int, v128_from_lanes

# --- data model -----------------------------------------------------------------------------------


@dataclass
class ScriptModule:
    kind: str  # "text" | "binary" | "quote"
    name: str | None = None
    text: str | None = None
    binary: bytes | None = None
    module: DecodedModule | None = None
    definition: bool = False
    error: str | None = None  # a text module that failed to parse (then kind is "quote")


@dataclass
class Value:
    type: str
    value: Any


@dataclass
class NanPattern:
    type: str
    kind: str  # "canonical" | "arithmetic"


@dataclass
class V128Pattern:
    lane_type: str
    lanes: list


@dataclass
class RefPattern:
    kind: str  # "null" | "func" | "extern"
    value: Any = None


@dataclass
class Either:
    alternatives: list


@dataclass
class Invoke:
    line: int
    module: str | None
    field: str
    args: list


@dataclass
class Get:
    line: int
    module: str | None
    field: str


@dataclass
class ModuleCommand:
    line: int
    module: ScriptModule


@dataclass
class Register:
    line: int
    as_name: str
    name: str | None


@dataclass
class ActionCommand:
    line: int
    action: Any


@dataclass
class AssertReturn:
    line: int
    action: Any
    expected: list


@dataclass
class AssertTrap:
    line: int
    action_or_module: Any
    message: str


@dataclass
class AssertExhaustion:
    line: int
    action: Any
    message: str


@dataclass
class AssertMalformed:
    line: int
    module: ScriptModule
    message: str


@dataclass
class AssertInvalid:
    line: int
    module: ScriptModule
    message: str


@dataclass
class AssertUnlinkable:
    line: int
    module: ScriptModule
    message: str


@dataclass
class AssertUninstantiable:
    line: int
    module: ScriptModule
    message: str


@dataclass
class Unsupported:
    line: int
    head: str


# --- parsing --------------------------------------------------------------------------------------


def _str(item: Any) -> str:
    if type(item) is not WStr:
        raise DecodeError(f"unexpected token: expected a string, got {item!r}")
    return bytes(item).decode("utf-8", "replace")


class _ScriptParser:
    def __init__(self, text: str, path: str):
        self.text = text
        self.path = path
        self.newlines = [i for i, c in enumerate(text) if c == "\n"] if "\n" in text else []

    def line(self, node: Node) -> int:
        return bisect.bisect_right(self.newlines, node.start) + 1

    def module(self, node: Node) -> ScriptModule:
        i = 1
        definition = False
        if i < len(node) and node[i] == "definition":
            definition = True
            i += 1
        name = None
        if i < len(node) and is_id(node[i]):
            name = node[i]
            i += 1
        if i < len(node) and type(node[i]) is str and node[i] in ("binary", "quote"):
            parts = node[i + 1:]
            if any(type(p) is not WStr for p in parts):
                raise DecodeError("unexpected token: expected a string")
            blob = b"".join(bytes(p) for p in parts)
            if node[i] == "binary":
                return ScriptModule("binary", name, binary=blob, definition=definition)
            return ScriptModule("quote", name, text=blob.decode("utf-8", "surrogateescape"),
                                definition=definition)
        try:
            if definition:
                inner = Node(node[i:])
                inner.insert(0, "module")
                inner.start, inner.end = node.start, node.end
                module = build_module(inner)
            else:
                module = build_module(node)
        except DecodeError as error:
            source = self.text[node.start:node.end]
            if definition:
                source = source.replace("definition", "", 1)
            return ScriptModule("quote", name, text=source, definition=definition,
                                error=str(error))
        return ScriptModule("text", name, module=module, definition=definition)

    def const(self, node: Any) -> Value:
        h = head(node)
        if h is None or len(node) < 2:
            raise DecodeError(f"unexpected token: bad constant {node!r}")
        if h == "i32.const":
            return Value("i32", parse_int(node[1], 32) & 0xFFFFFFFF)
        if h == "i64.const":
            return Value("i64", parse_int(node[1], 64) & 0xFFFFFFFFFFFFFFFF)
        if h == "f32.const":
            return Value("f32", parse_float(node[1], 32))
        if h == "f64.const":
            return Value("f64", parse_float(node[1], 64))
        if h == "v128.const":
            shape = node[1]
            if shape not in LANE_SHAPES:
                raise DecodeError("unexpected token: bad v128 shape")
            lanes = [lane_value(shape, x) for x in node[2:]]
            if len(lanes) != LANE_SHAPES[shape][1]:
                raise DecodeError("unexpected token: wrong number of lanes")
            return Value("v128", v128_from_lanes(shape, lanes))
        if h == "ref.null":
            kind = node[1]
            return Value("externref" if kind == "extern" else "funcref", None)
        if h == "ref.extern":
            return Value("externref", int(node[1].replace("_", ""), 0))
        if h == "ref.host":
            return Value("externref", int(node[1], 0))
        raise DecodeError(f"unexpected token: bad constant {h}")

    def expected(self, node: Any) -> Any:
        h = head(node)
        if h in ("f32.const", "f64.const") and len(node) == 2 and \
                node[1] in ("nan:canonical", "nan:arithmetic"):
            return NanPattern(h[:3], node[1][4:])
        if h == "v128.const" and len(node) > 2 and node[1] in LANE_SHAPES and any(
                x in ("nan:canonical", "nan:arithmetic") for x in node[2:]):
            shape = node[1]
            lanes: list = []
            for x in node[2:]:
                if x in ("nan:canonical", "nan:arithmetic"):
                    lanes.append(NanPattern(shape[:3], x[4:]))
                else:
                    lanes.append(lane_value(shape, x))
            return V128Pattern(shape[:3], lanes)
        if h == "ref.func" and len(node) == 1:
            return RefPattern("func")
        if h == "ref.extern" and len(node) == 1:
            return RefPattern("extern")
        if h == "ref.null" and len(node) == 1:
            return RefPattern("null")
        if h == "either":
            return Either([[self.expected(x)] for x in node[1:]])
        return self.const(node)

    def action(self, node: Any) -> Any:
        h = head(node)
        line = self.line(node)
        i = 1
        name = None
        if i < len(node) and is_id(node[i]):
            name = node[i]
            i += 1
        if h == "invoke":
            return Invoke(line, name, _str(node[i]), [self.const(x) for x in node[i + 1:]])
        if h == "get":
            return Get(line, name, _str(node[i]))
        raise DecodeError(f"unexpected token: unknown action {h}")

    def command(self, node: Any) -> Any:
        h = head(node)
        if h is None:
            raise DecodeError("unexpected token", getattr(node, "start", None))
        line = self.line(node)
        if h == "module":
            if len(node) > 1 and node[1] == "instance":
                return Unsupported(line, "module instance")
            return ModuleCommand(line, self.module(node))
        if h == "register":
            return Register(line, _str(node[1]), node[2] if len(node) > 2 else None)
        if h in ("invoke", "get"):
            return ActionCommand(line, self.action(node))
        if h == "assert_return":
            return AssertReturn(line, self.action(node[1]),
                                [self.expected(x) for x in node[2:]])
        message = _str(node[2]) if len(node) > 2 and type(node[2]) is WStr else ""
        if h == "assert_trap":
            target = node[1]
            if head(target) == "module":
                return AssertTrap(line, self.module(target), message)
            return AssertTrap(line, self.action(target), message)
        if h == "assert_exhaustion":
            return AssertExhaustion(line, self.action(node[1]), message)
        if h == "assert_malformed":
            return AssertMalformed(line, self.module(node[1]), message)
        if h == "assert_invalid":
            return AssertInvalid(line, self.module(node[1]), message)
        if h == "assert_unlinkable":
            return AssertUnlinkable(line, self.module(node[1]), message)
        if h == "assert_uninstantiable":
            return AssertUninstantiable(line, self.module(node[1]), message)
        return Unsupported(line, h)


def parse_script(text: str, path: str = "<wast>") -> list:
    """Parse a .wast script into its commands."""
    parser = _ScriptParser(text, path)
    return [parser.command(node) for node in read_sexprs(text)]


__all__ = [
    "ScriptModule", "Value", "NanPattern", "V128Pattern", "RefPattern", "Either", "Invoke", "Get",
    "ModuleCommand", "Register", "ActionCommand", "AssertReturn", "AssertTrap",
    "AssertExhaustion", "AssertMalformed", "AssertInvalid", "AssertUnlinkable",
    "AssertUninstantiable", "Unsupported", "parse_script",
]
