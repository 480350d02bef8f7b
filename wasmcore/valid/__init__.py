"""The validator: checks a DecodedModule (spec "Validation"); implements no hook itself.

https://webassembly.github.io/spec/core/valid/index.html
"""

from __future__ import annotations

from wasmcore.errors import ValidationError
from wasmcore.syntax.features import WASM_2_0, WasmFeatures
from wasmcore.syntax.types import DecodedModule
from wasmcore.valid import _module

__all__ = ["validate_module"]


def validate_module(module: DecodedModule, features: WasmFeatures = WASM_2_0) -> None:
    """Check `module` under the proposals enabled in `features`; raise ValidationError.

    The error's message contains the spec testsuite's wording ("type mismatch", "unknown
    local", ...); errors in a function body carry `func_index` (in the function index space),
    `offset` (the body's byte offset when the decoder recorded it) and `instruction_index`.
    """
    try:
        _module.validate_module(module, features)
    except ValidationError:
        raise
    except (IndexError, KeyError, TypeError, ValueError, AttributeError, RecursionError) as error:
        # Malformed hand-built data (wrong field types, bad immediates): never let it escape raw.
        raise ValidationError(f"malformed module: {type(error).__name__}: {error}") from None
