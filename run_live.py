#!/usr/bin/env python3
"""Live pose estimation in the desktop GUI: `python run_live.py [--source 0|PATH|URL] [--source …]`.

Defaults to camera 0 and says in the window when there is none; `--headless` runs without
a window. The code is `poselive.apps.live` (also the `poselive-live` command)."""

import sys

from poselive.apps.live import main

if __name__ == "__main__":
    sys.exit(main())
