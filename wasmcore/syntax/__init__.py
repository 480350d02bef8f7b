"""The module data model (spec "Structure"): see `types` and `opcodes`."""

from wasmcore.syntax.types import *  # noqa: F401,F403
from wasmcore.syntax import opcodes  # noqa: F401
