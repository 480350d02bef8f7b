"""`python -m benchmarks --help`: see benchmarks/cli.py and docs/performance.md."""

import sys

from benchmarks.cli import main

sys.exit(main())
