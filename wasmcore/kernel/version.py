"""The wasmcore version, in one place: artifacts and the code cache are keyed by it."""

__version__ = "0.1.0"
