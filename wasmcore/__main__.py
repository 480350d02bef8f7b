import sys

from wasmcore.cli import main

sys.exit(main())
