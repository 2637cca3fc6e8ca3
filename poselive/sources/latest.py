"""A reader thread that keeps only the newest frame of a live stream.

The idea is Ultralytics' LoadStreams: a camera or network stream produces frames at its
own pace, and a consumer that is slower must see the *newest* frame, not a growing
backlog. The thread calls ``read()`` in a loop and overwrites a single slot; ``take()``
hands out the slot's frame once and waits for the next one. Frames overwritten before
anyone took them are counted in ``dropped``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass
class LiveFrame:
    """One frame read from a live stream: its sequence number, timestamp and image."""

    seq: int  # counts frames read from the device, from 0 (gaps = frames dropped)
    pts: float  # seconds
    image: np.ndarray  # BGR uint8
    capture_time: float  # perf_counter() when the read returned


ReadFn = Callable[[], "tuple[np.ndarray, float | None] | None"]


class LatestFrameReader:
    """Runs ``read()`` in a daemon thread and keeps only the newest frame.

    ``read`` returns ``(image, pts_seconds_or_None)``, or None at the end of the stream;
    an exception it raises ends the thread and is kept in ``error``. ``on_exit`` runs in
    the reader thread when it stops (release the device there: OpenCV and FFmpeg handles
    must not be closed from another thread while a read is blocked on them).
    """

    def __init__(self, read: ReadFn, name: str, on_exit: Callable[[], None] | None = None) -> None:
        self._read = read
        self._on_exit = on_exit
        self._cond = threading.Condition()
        self._slot: LiveFrame | None = None
        self._stop = threading.Event()
        self.finished = False  # the thread has ended (end of stream, error or stop)
        self.error: BaseException | None = None
        self.received = 0  # frames read from the device
        self.dropped = 0  # frames overwritten before take() got them
        self._t0: float | None = None
        self._thread = threading.Thread(target=self._run, name=f"reader:{name}", daemon=True)

    def start(self) -> "LatestFrameReader":
        """Start the reader thread."""
        self._thread.start()
        return self

    @property
    def stopping(self) -> bool:
        """True once stop() was called."""
        return self._stop.is_set()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                result = self._read()
                now = time.perf_counter()
                if result is None:
                    break
                image, pts = result
                if self._t0 is None:
                    self._t0 = now
                if pts is None:
                    # Devices without timestamps: seconds since the first frame arrived.
                    pts = now - self._t0
                with self._cond:
                    if self._slot is not None:
                        self.dropped += 1
                    self._slot = LiveFrame(self.received, float(pts), image, now)
                    self.received += 1
                    self._cond.notify_all()
        except BaseException as exc:  # kept and re-raised by the consumer as SourceError
            self.error = exc
        finally:
            try:
                if self._on_exit is not None:
                    self._on_exit()
            finally:
                with self._cond:
                    self.finished = True
                    self._cond.notify_all()

    def wait_first(self, timeout: float) -> bool:
        """Wait until a frame was read or the thread ended; True if a frame arrived."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self.received == 0 and not self.finished:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            return self.received > 0

    def take(self, timeout: float) -> LiveFrame | None:
        """The newest frame not handed out yet, waiting up to timeout seconds.

        Returns None on timeout, after stop(), or when the thread ended with nothing
        left to hand out; check ``finished``/``error``/``stopping`` to tell them apart.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._slot is None:
                if self.finished or self._stop.is_set():
                    return None
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(left)
            if self._stop.is_set():
                return None
            frame, self._slot = self._slot, None
            return frame

    def stop(self, join_timeout: float = 0.0) -> None:
        """Ask the thread to stop and wake any waiting take(); optionally join it."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if join_timeout > 0 and self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(join_timeout)

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread to end; True if it has."""
        if self._thread.ident is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()
