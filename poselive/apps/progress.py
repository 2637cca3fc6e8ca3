"""A progress bar for `poselive process`: frames, fps, ETA; persons counted on the way."""

from __future__ import annotations

import sys
import threading


class Progress:
    """Counts finished packets (called from the graph's last thread) and shows a bar."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled and sys.stderr.isatty() or enabled == "force"
        self.frames = 0
        self.persons = 0
        self._bar = None
        self._lock = threading.Lock()

    def start(self, total: int | None, live: bool) -> None:
        """Create the bar; a live source has no total and no ETA."""
        if not self.enabled:
            return
        from tqdm import tqdm

        self._bar = tqdm(total=None if live else total, unit="frame", dynamic_ncols=True,
                         file=sys.stderr, smoothing=0.1)

    def update(self, packet) -> None:
        """Account one packet that left the last stage."""
        with self._lock:
            self.frames += 1
            if packet.poses is not None:
                self.persons += len(packet.poses)
            if self._bar is not None:
                self._bar.update(1)
                if self.frames % 10 == 0:
                    self._bar.set_postfix(persons=self.persons, refresh=False)

    def close(self) -> None:
        """Close the bar."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
