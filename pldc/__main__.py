"""`python -m pldc`: the same as the `pldc` command."""

import sys

from pldc.cli import main

sys.exit(main())
