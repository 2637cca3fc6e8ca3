"""`python -m poselive` runs the command line."""

import sys

from poselive import interrupts

interrupts.install()  # before the heavier imports below: Ctrl-C works from the first instant

try:
    from poselive.apps.cli import main
except BaseException as exc:  # noqa: BLE001 - an interrupt while importing: one line, no traceback
    code = interrupts.exit_code(exc)
    if code is not None:
        sys.exit(code)
    raise

sys.exit(main())
