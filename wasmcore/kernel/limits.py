"""Every implementation limit in one place (spec "Implementation Limitations",
https://webassembly.github.io/spec/core/appendix/implementation.html)."""

MAX_MEMORY_PAGES_32 = 65536  # 4 GiB, the whole 32-bit address space
MAX_MEMORY_PAGES_64 = 1 << 48  # memory64: 2**64 bytes
# Virtual address space reserved per memory; untouched pages cost no RAM (MAP_NORESERVE).
MAX_MEMORY_RESERVATION = 1 << 32 | 1 << 16  # 4 GiB, plus a page of slack

MAX_TABLE_INDEX = (1 << 32) - 1
# Tables are Python lists; a hostile table.grow must not exhaust the host.
MAX_TABLE_ELEMENTS = 10_000_000

# Decoder bounds, as Wasmtime's wasmparser sets them: beyond these a module is rejected.
MAX_FUNCTION_LOCALS = 50_000
MAX_FUNCTION_PARAMS = 1_000
MAX_FUNCTION_RESULTS = 1_000
MAX_TYPES = 1_000_000
MAX_FUNCTIONS = 1_000_000
MAX_IMPORTS = 100_000
MAX_EXPORTS = 100_000
MAX_DATA_SEGMENTS = 100_000
MAX_ELEMENT_SEGMENTS = 100_000
MAX_TABLES = 100
MAX_MEMORIES = 100
MAX_GLOBALS = 1_000_000
MAX_BR_TABLE_TARGETS = 1_000_000
MAX_FUNCTION_BODY_SIZE = 7_654_321
MAX_MODULE_SIZE = 1 << 30

DEFAULT_MAX_WASM_STACK = 512 * 1024  # bytes, as Wasmtime's default
