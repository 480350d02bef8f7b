"""`Module`: a decoded, validated and compiled module (wasmtime-py's `Module`)."""

from __future__ import annotations

import os
from typing import Any

from wasmcore.api.engine import Engine
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
        data = wasm if isinstance(wasm, str) else bytes(wasm)
        cache = None
        if engine.config.cache:
            from wasmcore.kernel.cache import CodeCache

            cache = CodeCache(engine)
            key = data.encode("utf-8") if isinstance(data, str) else data
            cached = cache.load(engine, key)
            if cached is not None:
                self._init(engine, cached._module, cached._compiled)
                return
        plugins = engine.plugins
        decoded = plugins.decode(engine, data)
        plugins.validate(engine, decoded)
        self._init(engine, decoded, plugins.compile(engine, decoded))
        if cache is not None:
            cache.store(engine, key, self)

    def _init(self, engine: Engine, decoded: DecodedModule, compiled: Any) -> None:
        engine.check_compiled(compiled)  # fuel/epochs need a backend that enforces them
        self.engine = engine
        self._module = decoded
        self._compiled = compiled

    @classmethod
    def _from_parts(cls, engine: Engine, decoded: DecodedModule, compiled: Any) -> "Module":
        self = cls.__new__(cls)
        self._init(engine, decoded, compiled)
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
        decoded = engine.plugins.decode(engine, wasm)
        engine.plugins.validate(engine, decoded)

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

        return serialize(self)

    @classmethod
    def deserialize(cls, engine: Engine, encoded: bytes) -> "Module":
        from wasmcore.kernel.artifact import deserialize

        return deserialize(engine, encoded)

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
