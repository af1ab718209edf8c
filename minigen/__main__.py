"""``python -m minigen``: the command line (see ``minigen.cli``)."""

import sys

from .cli import main

sys.exit(main())
