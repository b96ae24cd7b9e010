"""`python -m podiokit.cli`: the `podiokit` command."""

import sys

from . import main

sys.exit(main())
