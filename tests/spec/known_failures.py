"""Known spec-test failures, one dict per backend: {"<tier>/<file>.wast": "reason"}.
Each entry is a strict xfail: when the file starts passing, remove it here."""

KNOWN_FAILURES: dict[str, dict[str, str]] = {
    "interp": {},
    "llvm": {},
}
