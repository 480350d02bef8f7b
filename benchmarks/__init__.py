"""Benchmarks: wasmcore's backends against peers on the shared corpus, in one run."""
