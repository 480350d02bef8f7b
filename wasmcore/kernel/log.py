"""Logging through structlog: silent unless `WASMCORE_LOG` asks (like `WASMTIME_LOG`).

`WASMCORE_LOG=debug` logs everything at debug and above; `WASMCORE_LOG=wasmcore.binary=debug,info`
sets a level per logger-name prefix with a default; `WASMCORE_LOG_FORMAT=json` prints JSON lines.
Output goes to stderr. Only the CLI or this environment variable configure structlog.
"""

from __future__ import annotations

import logging
import os
import sys

import structlog

_LEVELS = {"trace": 5, "debug": 10, "info": 20, "warn": 30, "warning": 30, "error": 40, "off": 100}
_configured = False


def parse_filter(spec: str) -> tuple[int, dict[str, int]]:
    """Parse `"a.b=debug,info"` into (default level, {prefix: level})."""
    default = _LEVELS["off"]
    per_logger: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        name, eq, level = part.rpartition("=")
        if level.lower() not in _LEVELS:
            raise ValueError(f"unknown log level {level!r} in WASMCORE_LOG")
        if eq:
            per_logger[name] = _LEVELS[level.lower()]
        else:
            default = _LEVELS[level.lower()]
    return default, per_logger


def level_for(logger_name: str, default: int, per_logger: dict[str, int]) -> int:
    best, best_len = default, -1
    for prefix, level in per_logger.items():
        if (logger_name == prefix or logger_name.startswith(prefix + ".")) and len(prefix) > best_len:
            best, best_len = level, len(prefix)
    return best


def configure(spec: str | None = None, json: bool | None = None) -> None:
    """Configure structlog from a filter spec (default: the WASMCORE_LOG variable)."""
    global _configured
    spec = os.environ.get("WASMCORE_LOG", "") if spec is None else spec
    if json is None:
        json = os.environ.get("WASMCORE_LOG_FORMAT", "").lower() == "json"
    default, per_logger = parse_filter(spec)

    def filter_by_logger(logger, method_name, event_dict):
        name = event_dict.get("logger", "")
        if _LEVELS.get(method_name, 20) < level_for(name, default, per_logger):
            raise structlog.DropEvent
        return event_dict

    renderer = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    structlog.configure(
        processors=[structlog.stdlib.add_log_level, filter_by_logger,
                    structlog.processors.TimeStamper(fmt="iso"), renderer],
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=False,
    )
    _configured = True


def get_logger(name: str):
    """A logger bound to `name`; silent until configured."""
    if not _configured:
        if os.environ.get("WASMCORE_LOG"):
            configure()
        else:
            structlog.configure(processors=[_drop], cache_logger_on_first_use=False) \
                if not structlog.is_configured() else None
    return structlog.get_logger().bind(logger=name)


def enabled(name: str, level: str = "debug") -> bool:
    spec = os.environ.get("WASMCORE_LOG", "")
    if not spec:
        return False
    default, per_logger = parse_filter(spec)
    return _LEVELS[level] >= level_for(name, default, per_logger)


def _drop(logger, method_name, event_dict):
    raise structlog.DropEvent


logging.addLevelName(5, "TRACE")
