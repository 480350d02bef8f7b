"""The kernel: the plugin manager and the core's builtin plugins, the compile pipeline, AOT
artifacts and the compiled-code cache, logging, and every implementation limit."""
