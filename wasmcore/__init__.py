"""wasmcore: a WebAssembly runtime for Python. The embedding API mirrors wasmtime-py:
switch by changing `import wasmtime` to `import wasmcore`."""

__version__ = "0.1.0"

from wasmcore._config import Config
from wasmcore._engine import Engine
from wasmcore._externs import Global, Memory, Table
from wasmcore._func import Caller, Func
from wasmcore._instance import Instance, InstanceExports
from wasmcore._linker import InstancePre, Linker
from wasmcore._module import Module
from wasmcore._store import Store, StoreLimits, StoreLimitsBuilder
from wasmcore._types import (ExportType, FuncType, GlobalType, ImportType, Limits, MemoryType,
                             TableType, ValType)
from wasmcore._value import Val
from wasmcore.text.wat import wat2wasm
from wasmcore.errors import (ConfigError, DecodeError, ExitTrap, Frame, LinkError, Trap, TrapCode,
                             ValidationError, WasmcoreError, WasmtimeError)

try:
    from wasmcore._wasi_config import DirPerms, FilePerms, WasiConfig
except ImportError:  # pragma: no cover - present once WASI lands
    pass

__all__ = [
    "Config", "Engine", "Store", "StoreLimits", "StoreLimitsBuilder", "Module", "Linker", "InstancePre", "Instance", "InstanceExports",
    "Func", "Caller", "FuncType", "ValType", "Val", "Memory", "MemoryType", "Table", "TableType",
    "Global", "GlobalType", "Limits", "ImportType", "ExportType", "Trap", "TrapCode", "Frame",
    "ExitTrap", "WasmcoreError", "WasmtimeError", "DecodeError", "ValidationError", "LinkError",
    "ConfigError", "WasiConfig", "DirPerms", "FilePerms", "wat2wasm",
]
