"""``python -m minigen``: the command line (see ``minigen.cli``)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
