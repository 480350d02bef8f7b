"""wasmcore: a WebAssembly runtime for Python (embedding API mirrors wasmtime-py)."""

__version__ = "0.1.0"
