"""The embedding API: one public class (or a few close ones) per module, with wasmtime-py's
names and semantics. Users import these names from `wasmcore`, not from here."""
