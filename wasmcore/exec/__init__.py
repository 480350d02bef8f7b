"""The spec's execution rules written once, for every backend (spec "Execution",
https://webassembly.github.io/spec/core/exec/index.html): `instantiate` (the instantiation
steps and constant evaluation), `numerics` (the numeric operators, their traps and NaN rules,
float<->int bounds, the fuel each operator costs) and `bulk` (the table and memory bulk
operations with their bounds checks). Backends either call these directly or generate code
that must agree with them (tests/differential checks it)."""
