"""`Store`: owns instances and their runtime objects, host data, limits and WASI config."""

from __future__ import annotations

from typing import Any

from wasmcore._engine import Engine
from wasmcore.errors import WasmcoreError


class Store:
    """All wasm objects live in a store: `Store(engine=None, data=None)`. `data` is free for the
    host; `stash` holds plugin state keyed by `wasmcore.plugin.StashKey`."""

    def __init__(self, engine: Engine | None = None, data: Any = None):
        if engine is not None and not isinstance(engine, Engine):
            raise TypeError("expected an Engine")
        self.engine = engine if engine is not None else Engine()
        self.data = data
        self.stash: dict = {}
        self.instances: list = []
        self.wasi_config: Any = None
        self._limiter: Any = None
        self._fuel: int | None = None
        self._epoch_deadline: int | None = None

    def set_wasi(self, wasi: Any) -> None:
        """Give this store's WASI functions their configuration (a `WasiConfig`)."""
        from wasmcore._wasi_config import WasiConfig

        if not isinstance(wasi, WasiConfig):
            raise TypeError("expected a WasiConfig")
        self.wasi_config = wasi
        self.stash.pop("wasi", None)

    def gc(self) -> None:
        """Reference counting frees unreachable externrefs already; kept for wasmtime-py."""

    # --- fuel and epochs: configured here, enforced by backends that support them -------------
    def set_fuel(self, fuel: int) -> None:
        if not self.engine.config.consume_fuel:
            raise WasmcoreError("fuel is not configured in this store")
        if fuel < 0:
            raise ValueError("fuel must be non-negative")
        self._fuel = fuel

    def get_fuel(self) -> int:
        if not self.engine.config.consume_fuel:
            raise WasmcoreError("fuel is not configured in this store")
        return self._fuel or 0

    def set_epoch_deadline(self, ticks_beyond_current: int) -> None:
        if not self.engine.config.epoch_interruption:
            raise WasmcoreError("epoch interruption is not configured in this store")
        self._epoch_deadline = self.engine.epoch + ticks_beyond_current
