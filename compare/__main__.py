"""``python -m compare``: the lockstep parity tool (compare/parity/cli.py)."""

import sys

from compare.parity.cli import main

if __name__ == "__main__":
    sys.exit(main())
