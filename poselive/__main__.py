"""`python -m poselive` runs the command line."""

import sys

from poselive.apps.cli import main

sys.exit(main())
