"""Helpers for the resource-control tests: engines configured per backend, and the explicit
skip for a backend that refuses (with the core's ConfigError) a setting it cannot enforce."""

from __future__ import annotations

import pytest

import wasmcore
from wasmcore.errors import ConfigError

# Backends that must enforce fuel and epochs: a refusal there is a failure, not a skip.
ENFORCING_BACKENDS = {"interp", "llvm"}


def make_engine(backend: str, **settings) -> wasmcore.Engine:
    config = wasmcore.Config()
    config.backend = backend
    for name, value in settings.items():
        setattr(config, name, value)
    return wasmcore.Engine(config)


def module(engine: wasmcore.Engine, wasm) -> wasmcore.Module:
    """`Module(engine, wasm)`; a backend refusing fuel/epochs is skipped with the reason."""
    try:
        return wasmcore.Module(engine, wasm)
    except ConfigError as error:
        backend = engine.config.backend
        if backend in ENFORCING_BACKENDS or "is not supported by backend" not in str(error):
            raise
        pytest.skip(f"backend {backend!r} refuses this setting with a ConfigError: {error}")


def instance(backend: str, wat, imports=(), **settings):
    """(store, exports) of `wat` instantiated in a new store of a new engine."""
    engine = make_engine(backend, **settings)
    store = wasmcore.Store(engine)
    inst = wasmcore.Instance(store, module(engine, wat), list(imports))
    return store, inst.exports(store)
