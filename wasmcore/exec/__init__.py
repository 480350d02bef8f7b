"""The spec's execution rules, written once for every backend (spec "Execution",
https://webassembly.github.io/spec/core/exec/index.html): instantiation and constant
evaluation; backends translate code, they do not re-implement these."""
