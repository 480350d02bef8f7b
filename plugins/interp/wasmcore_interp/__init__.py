"""The portable interpreter backend (entry point `interp`)."""
