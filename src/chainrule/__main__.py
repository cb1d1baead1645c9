"""``python -m chainrule``: the command line (see :mod:`chainrule.cli`)."""

import sys

from chainrule.cli import main

sys.exit(main())
