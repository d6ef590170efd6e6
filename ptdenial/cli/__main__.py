"""``python -m ptdenial.cli``: the same as the ``ptdenial`` command."""

import sys

from ptdenial.cli import main

sys.exit(main())
