"""random_get."""

import os

from ._registry import wasi


@wasi("random_get", "ii")
def random_get(ctx, mem, buf, length):
    mem.check(buf, length)
    mem.write(buf, os.urandom(length))
