"""wasmcore: a WebAssembly runtime for Python. The embedding API mirrors wasmtime-py:
switch by changing `import wasmtime` to `import wasmcore`."""

from wasmcore.kernel.version import __version__

from wasmcore.api.config import Config
from wasmcore.api.engine import Engine
from wasmcore.api.externs import Global, Memory, Table
from wasmcore.api.func import Caller, Func
from wasmcore.api.instance import Instance, InstanceExports
from wasmcore.api.linker import InstancePre, Linker
from wasmcore.api.module import Module
from wasmcore.api.store import Store, StoreLimits, StoreLimitsBuilder
from wasmcore.api.types import (ExportType, FuncType, GlobalType, ImportType, Limits, MemoryType,
                             TableType, ValType)
from wasmcore.api.value import Val
from wasmcore.text.wat import wat2wasm
from wasmcore.errors import (ConfigError, DecodeError, ExitTrap, Frame, LinkError, Trap, TrapCode,
                             ValidationError, WasmcoreError, WasmtimeError)

try:
    from wasmcore.wasi.config import DirPerms, FilePerms, WasiConfig
except ImportError:  # pragma: no cover - present once WASI lands
    pass

__all__ = [
    "Config", "Engine", "Store", "StoreLimits", "StoreLimitsBuilder", "Module", "Linker", "InstancePre", "Instance", "InstanceExports",
    "Func", "Caller", "FuncType", "ValType", "Val", "Memory", "MemoryType", "Table", "TableType",
    "Global", "GlobalType", "Limits", "ImportType", "ExportType", "Trap", "TrapCode", "Frame",
    "ExitTrap", "WasmcoreError", "WasmtimeError", "DecodeError", "ValidationError", "LinkError",
    "ConfigError", "WasiConfig", "DirPerms", "FilePerms", "wat2wasm",
]
