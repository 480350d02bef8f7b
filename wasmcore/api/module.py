"""`Module`: a decoded, validated and compiled module (wasmtime-py's `Module`)."""

from __future__ import annotations

import os
from typing import Any

from wasmcore.api.engine import Engine
from wasmcore.kernel import pipeline
from wasmcore.api.types import ExportType, ImportType, extern_type
from wasmcore.syntax.types import DecodedModule, ExternKind


def _import_desc(module: DecodedModule, imp) -> Any:
    return module.types[imp.desc] if imp.kind == ExternKind.FUNC else imp.desc


class Module:
    """`Module(engine, wasm)` with `wasm` a binary (bytes) or WAT text (str or bytes)."""

    def __init__(self, engine: Engine, wasm: bytes | bytearray | str):
        if not isinstance(engine, Engine):
            raise TypeError("expected an Engine")
        if not isinstance(wasm, (bytes, bytearray, memoryview, str)):
            raise TypeError("expected bytes or str")
        self.engine = engine
        self._module, self._compiled = pipeline.load(engine, wasm)

    @classmethod
    def _from_parts(cls, engine: Engine, decoded: DecodedModule, compiled: Any) -> "Module":
        self = cls.__new__(cls)
        self.engine = engine
        self._module = decoded
        self._compiled = compiled
        return self

    @classmethod
    def from_file(cls, engine: Engine, path: str | os.PathLike) -> "Module":
        with open(path, "rb") as file:
            data = file.read()
        if not data.startswith(b"\0asm"):
            try:
                return cls(engine, data.decode("utf-8"))
            except UnicodeDecodeError:
                pass
        return cls(engine, data)

    @staticmethod
    def validate(engine: Engine, wasm: bytes | str) -> None:
        """Decode and validate without compiling; raises DecodeError/ValidationError."""
        if not isinstance(engine, Engine):
            raise TypeError("expected an Engine")
        pipeline.read(engine, wasm)

    @property
    def name(self) -> str | None:
        return self._module.names.module

    @property
    def imports(self) -> list[ImportType]:
        m = self._module
        return [ImportType(imp.module, imp.name, extern_type(imp.kind, _import_desc(m, imp)))
                for imp in m.imports]

    @property
    def exports(self) -> list[ExportType]:
        return [ExportType(export.name, extern_type(export.kind, export_desc(self._module, export)))
                for export in self._module.exports]

    def serialize(self) -> bytes:
        from wasmcore.kernel.artifact import serialize

        return serialize(self.engine, self._module, self._compiled)

    @classmethod
    def deserialize(cls, engine: Engine, encoded: bytes) -> "Module":
        if not isinstance(engine, Engine):
            raise TypeError("expected an Engine")
        return cls._from_parts(engine, *pipeline.deserialize(engine, encoded))

    @classmethod
    def deserialize_file(cls, engine: Engine, path: str | os.PathLike) -> "Module":
        with open(path, "rb") as file:
            return cls.deserialize(engine, file.read())


def export_desc(module: DecodedModule, export) -> Any:
    """The type of an export: FuncType, TableType, MemoryType or GlobalType (syntax level)."""
    imported = [imp for imp in module.imports if imp.kind == export.kind]
    index = export.index
    if index < len(imported):
        return _import_desc(module, imported[index])
    index -= len(imported)
    if export.kind == ExternKind.FUNC:
        return module.types[module.functions[index].type_index]
    if export.kind == ExternKind.TABLE:
        return module.tables[index]
    if export.kind == ExternKind.MEMORY:
        return module.memories[index]
    return module.globals[index].type
