"""The graph runtime: a source and a chain of stages, each in its own thread."""

from __future__ import annotations

import logging
import signal
import threading
import time
from typing import Callable, Mapping, Sequence

from poselive.errors import ConfigError, StageError
from poselive.graph.edges import END, Edge, EdgePolicy
from poselive.graph.protocols import Source, Stage
from poselive.graph.stats import GraphStats, LatencyWindow, RateMeter, StageStats
from poselive.interrupts import reraise_interrupt
from poselive.types import FramePacket

log = logging.getLogger("poselive.graph")

_POLL_S = 0.02  # supervisor / run() poll period: bounds reaction time to stop and signals
# run()/wait() stop waiting for the supervisor this long after stop_timeout has elapsed
# since the first stop request (a last resort: the supervisor normally finishes by then)
_MARGIN_S = 1.0


def install_signal_handlers(handler: Callable) -> dict[int, object]:
    """Point SIGINT and SIGTERM at ``handler`` (main thread only; elsewhere nothing is
    installed) and return the previous handlers for ``restore_signal_handlers``."""
    previous: dict[int, object] = {}
    if threading.current_thread() is not threading.main_thread():
        return previous
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            previous[sig] = signal.signal(sig, handler)
        except (ValueError, OSError):  # pragma: no cover - exotic platforms
            pass
    return previous


def restore_signal_handlers(previous: dict[int, object]) -> None:
    """Put back the handlers ``install_signal_handlers`` replaced (emptying ``previous``,
    so restoring twice is harmless)."""
    items = list(previous.items())
    previous.clear()
    for sig, handler in items:
        try:
            signal.signal(sig, handler)  # type: ignore[arg-type]
        except (ValueError, OSError, TypeError):  # pragma: no cover
            pass
# how long shutdown waits for the last-resort close() of nodes whose threads are stuck
_CLOSE_GRACE_S = 0.2


class _Once:
    """Runs a close function at most once, whichever thread gets there first."""

    def __init__(self, fn: Callable[[], None] | None) -> None:
        self._fn = fn
        self._lock = threading.Lock()
        self.done = False

    def __call__(self) -> None:
        with self._lock:
            if self.done:
                return
            self.done = True
        if self._fn is not None:
            self._fn()


class Graph:
    """Runs ``source -> stages[0] -> ... -> stages[-1]`` with one thread per node.

    Nodes are joined by bounded queues whose policy is ``latest`` (keep the newest, count
    drops) or ``lossless`` (block, never drop). By default every edge is ``latest`` for a
    live source and ``lossless`` otherwise; ``policies`` overrides the input edge of given
    stages (a mapping by stage name, or one entry per stage), and a stage may declare
    ``input_policy``. Priority: ``policies`` > ``stage.input_policy`` > ``policy`` > default.

    A graph runs once: ``run()`` blocks; ``start()`` / ``stop()`` / ``wait()`` is the
    non-blocking variant for GUIs. ``stats()`` and ``latest_result()`` may be called from
    any thread at any time.
    """

    def __init__(
        self,
        source: Source,
        stages: Sequence[Stage],
        policy: EdgePolicy | str | None = None,
        queue_size: int = 4,
        stop_timeout: float = 2.0,
        on_result: Callable[[FramePacket], None] | None = None,
        policies: Mapping[str, EdgePolicy | str] | Sequence[EdgePolicy | str | None] | None = None,
    ) -> None:
        self.source = source
        self.stages = list(stages)
        self.stop_timeout = float(stop_timeout)
        self.on_result = on_result
        self.source_name = str(getattr(source, "name", type(source).__name__))
        self.names = [str(getattr(s, "name", type(s).__name__)) for s in self.stages]
        seen = {self.source_name}
        for n in self.names:
            if n in seen:
                raise ConfigError(
                    f"two graph nodes are named {n!r}; give every stage (and the source) "
                    "a unique name, since statistics and errors are reported by name"
                )
            seen.add(n)
        self.edges = [
            Edge(f"{([self.source_name] + self.names)[i]}->{n}", p, queue_size)
            for i, (n, p) in enumerate(zip(self.names, self._resolve_policies(policy, policies)))
        ]
        self._source_lat = LatencyWindow()
        self._stage_lat = [LatencyWindow() for _ in self.stages]
        self._e2e = LatencyWindow()
        self._rate = RateMeter()
        self._closers = [_Once(getattr(s, "close", None)) for s in self.stages]
        self._source_closer = _Once(getattr(source, "close", None))
        self._lock = threading.Lock()
        self._started = False
        self._finished = threading.Event()
        self._wake = threading.Event()  # nudges the supervisor
        self._stop_at: float | None = None  # perf_counter of the first stop request
        self._force = False  # abort in-flight packets instead of draining them
        self._aborted = False
        self._interrupted = False
        self._signal: int | None = None  # the signal that interrupted the run (exit code 128 + it)
        self._error: tuple[str, BaseException] | None = None
        self._frames_in = 0
        self._frames_out = 0
        self._t0 = 0.0
        self._t_end: float | None = None
        self._latest: FramePacket | None = None
        self._threads: list[threading.Thread] = []
        self._supervisor: threading.Thread | None = None
        self._stuck: list[str] = []
        self._max_frames: int | None = None
        self._finalizing = False  # guarded by _lock: shutdown is completed exactly once

    # ------------------------------------------------------------------ configuration
    def _resolve_policies(
        self,
        policy: EdgePolicy | str | None,
        policies: Mapping[str, EdgePolicy | str] | Sequence[EdgePolicy | str | None] | None,
    ) -> list[EdgePolicy]:
        if policy is None:
            live = bool(getattr(self.source, "is_live", False))
            base = EdgePolicy.LATEST if live else EdgePolicy.LOSSLESS
        else:
            base = EdgePolicy.parse(policy)
        out = []
        for stage in self.stages:
            hint = getattr(stage, "input_policy", None)
            out.append(EdgePolicy.parse(hint) if hint is not None else base)
        if policies is None:
            return out
        if isinstance(policies, Mapping):
            unknown = set(policies) - set(self.names)
            if unknown:
                raise ConfigError(
                    f"policies name unknown stages {sorted(unknown)}; "
                    f"the stages are {self.names}"
                )
            for i, n in enumerate(self.names):
                if n in policies:
                    out[i] = EdgePolicy.parse(policies[n])
            return out
        policies = list(policies)
        if len(policies) != len(self.stages):
            raise ConfigError(
                f"policies has {len(policies)} entries but the graph has "
                f"{len(self.stages)} stages; give one per stage (None keeps the default)"
            )
        return [EdgePolicy.parse(p) if p is not None else d for p, d in zip(policies, out)]

    # ------------------------------------------------------------------ public control
    def start(self, max_frames: int | None = None) -> None:
        """Start all threads and return at once (a Graph runs once)."""
        if max_frames is not None and max_frames < 0:
            raise ConfigError(f"max_frames must be >= 0, got {max_frames}")
        with self._lock:
            if self._started:
                raise ConfigError("this Graph has already run; build a new Graph to run again")
            self._started = True
        self._max_frames = max_frames
        self._t0 = time.perf_counter()
        threads = [
            threading.Thread(target=self._source_loop, name=f"graph:{self.source_name}", daemon=True)
        ] + [
            threading.Thread(target=self._stage_loop, args=(i,), name=f"graph:{n}", daemon=True)
            for i, n in enumerate(self.names)
        ]
        try:
            for t in threads:
                t.start()
                self._threads.append(t)  # only started threads: the supervisor joins these
            self._supervisor = threading.Thread(
                target=self._supervise, name="graph:supervisor", daemon=True
            )
            self._supervisor.start()
        except BaseException:
            # e.g. "can't start new thread": release what did start, then report
            self._abort()
            self._request_stop(force=True)
            self._supervisor = None
            self._finalize(time.perf_counter() + self.stop_timeout)
            raise

    def stop(self, force: bool = False) -> None:
        """Ask the graph to stop (non-blocking, any thread, signal-safe).

        The source is closed; packets in flight drain through the stages for up to half of
        ``stop_timeout`` (at once with ``force``), then are discarded. Every stage's
        ``close()`` still runs. Use ``wait()`` to block until shutdown is complete.
        """
        self._request_stop(force)

    def _request_stop(self, force: bool) -> None:
        # plain attribute writes only, no lock and no Event.set(): this runs inside signal
        # handlers, where taking a lock the interrupted code holds would deadlock; the
        # supervisor polls these every _POLL_S seconds
        if self._stop_at is None:
            self._stop_at = time.perf_counter()
        if force:
            self._force = True

    def wait(self, timeout: float | None = None) -> GraphStats:
        """Block until the graph has shut down (or ``timeout``) and return its stats.

        Raises StageError naming the failing stage when one raised. When the timeout
        elapses first, returns a live snapshot with ``running=True``.
        """
        if not self._started:
            raise ConfigError("the graph has not been started; call start() or run()")
        if not self._wait_finished(timeout):
            return self.stats()
        sup = self._supervisor
        if sup is not None and sup.name not in self._stuck:
            # it sets _finished as its last act, so this is short; bounded all the same
            sup.join(_MARGIN_S)
        if self._error is not None:
            name, exc = self._error
            raise StageError(name, exc) from exc
        return self.stats()

    def run(self, max_frames: int | None = None, handle_signals: bool = True) -> GraphStats:
        """Run to the end of the stream, ``max_frames``, ``stop()``, a signal or an error.

        Always shuts down cleanly and closes every stage. SIGINT/SIGTERM (handled when
        ``handle_signals`` and called on the main thread) stop the graph and ``run``
        returns normally with ``stats.interrupted = True``; a second signal discards
        in-flight packets at once, and a third gets the previous handler back.
        Raises StageError when a stage (or the source) raised. Once a stop is requested
        (stop(), a signal, an error) it returns within ``stop_timeout`` (plus a margin of
        about a second as a last resort), naming threads that did not end in
        ``stats.stuck_threads``.
        """
        already_started = self._started
        self._previous_handlers = {}
        try:
            # handlers first: a signal between start() and their installation would
            # otherwise raise KeyboardInterrupt here with the graph left running
            if handle_signals:
                self._previous_handlers = install_signal_handlers(self._on_signal)
            self.start(max_frames)
            self._wait_finished(None)
        except BaseException:
            # e.g. KeyboardInterrupt with handle_signals=False: still shut down cleanly
            if self._started and not already_started:
                self.stop(force=True)
                self._wait_finished(self.stop_timeout + _MARGIN_S)
            raise
        finally:
            self._restore_signals()
        return self.wait()

    def latest_result(self) -> FramePacket | None:
        """The newest packet that went through every stage (None before the first)."""
        return self._latest

    @property
    def started(self) -> bool:
        """True once start() (or run()) has started the threads."""
        return self._started

    def is_running(self) -> bool:
        """True between start() and the end of shutdown."""
        return self._started and not self._finished.is_set()

    @property
    def running(self) -> bool:
        """True between start() and the end of shutdown."""
        return self.is_running()

    def stats(self) -> GraphStats:
        """A snapshot of the statistics; cheap enough to call a few times a second."""
        now = time.perf_counter()
        end = self._t_end if self._t_end is not None else now
        wall = max(end - self._t0, 0.0) if self._started else 0.0
        stages: dict[str, StageStats] = {}
        drops = discarded = 0
        for name, lat, edge in zip(self.names, self._stage_lat, self.edges):
            s = StageStats.from_window(name, lat, wall)
            depth, max_depth, s.drops, s.discarded = edge.counters()
            s.policy, s.queue_capacity = edge.policy.value, edge.capacity
            s.queue_depth, s.queue_max_depth = depth, max_depth
            drops += s.drops
            discarded += s.discarded
            stages[name] = s
        e2e = StageStats.from_window("e2e", self._e2e, wall)
        err = None
        if self._error is not None:
            err = str(StageError(*self._error))
        return GraphStats(
            running=self.running,
            stopped=self._stop_at is not None,
            interrupted=self._interrupted,
            signal=self._signal,
            error=err,
            wall_time_s=round(wall, 6),
            frames_in=self._frames_in,
            frames_out=self._frames_out,
            drops=drops,
            discarded=discarded,
            fps=round(self._frames_out / wall, 3) if wall > 0 else 0.0,
            fps_recent=round(self._rate.rate(end, self._t0), 3) if self._started else 0.0,
            latency_mean_ms=e2e.mean_ms,
            latency_p50_ms=e2e.p50_ms,
            latency_p95_ms=e2e.p95_ms,
            latency_max_ms=e2e.max_ms,
            source=StageStats.from_window(self.source_name, self._source_lat, wall),
            stages=stages,
            stuck_threads=list(self._stuck),
            source_status=self._source_status(),
        )

    def _source_status(self) -> dict | None:
        """The source's ``status()`` (RTSP: state, outages, reconnects), if it has one."""
        fn = getattr(self.source, "status", None)
        if not callable(fn):
            return None
        try:
            return dict(fn())
        except Exception as exc:  # noqa: BLE001 - statistics must never break the run
            reraise_interrupt(exc)
            return None

    # ------------------------------------------------------------------ internals
    def _stop_deadline(self) -> float | None:
        """perf_counter by which shutdown must be complete (None: no stop requested)."""
        stop_at = self._stop_at
        if stop_at is None:
            return None
        # a stop() before start() counts from the start
        return max(stop_at, self._t0) + self.stop_timeout

    def _wait_finished(self, timeout: float | None) -> bool:
        """Wait for the end of shutdown; False when ``timeout`` elapsed first.

        Never waits unboundedly on the supervisor: once a stop was requested (stop(), a
        signal or an error), shutdown is taken over here ``_MARGIN_S`` after
        ``stop_timeout``, and likewise at once if the supervisor thread has died.
        """
        end = None if timeout is None else time.perf_counter() + max(0.0, timeout)
        while True:
            step = _POLL_S
            if end is not None:
                step = min(step, max(0.0, end - time.perf_counter()))
            if self._finished.wait(step):
                return True
            now = time.perf_counter()
            deadline = self._stop_deadline()
            sup = self._supervisor
            sup_dead = sup is None or not sup.is_alive()
            if sup_dead or (deadline is not None and now >= deadline + _MARGIN_S):
                if self._finished.is_set():  # finished between the wait and the checks
                    return True
                log.error(
                    "graph shutdown did not complete %s; finishing it from %s",
                    "(the supervisor thread is gone)" if sup_dead
                    else f"within stop_timeout={self.stop_timeout:.1f}s + {_MARGIN_S:.1f}s",
                    threading.current_thread().name,
                )
                self._abort()
                self._request_stop(force=True)
                self._finalize(now, take_over=True)
                return True
            if end is not None and now >= end:
                return False

    def _on_signal(self, signum: int, frame: object) -> None:
        if self._interrupted:
            # second signal: stop draining; a third goes to the previous handler
            self._request_stop(force=True)
            self._restore_signals()
            return
        self._interrupted = True
        self._signal = int(signum)
        self._request_stop(force=False)

    def _restore_signals(self) -> None:
        restore_signal_handlers(getattr(self, "_previous_handlers", {}))

    def _fail(self, name: str, exc: BaseException, drain: bool = False) -> None:
        """Record the first error and tear the graph down at once (``drain``: the source
        failed; what it read still flows through the stages, as at the end of a stream)."""
        with self._lock:
            first = self._error is None
            if first:
                self._error = (name, exc)
        if first:
            # the caller gets it as StageError (with the traceback as __cause__)
            log.debug("graph node %r failed", name, exc_info=exc)
        else:
            log.warning("graph node %r also failed: %s: %s", name, type(exc).__name__, exc)
        if drain:
            self._wake.set()
            return
        self._abort()
        self._request_stop(force=True)
        self._wake.set()

    def _abort(self) -> None:
        self._aborted = True
        for e in self.edges:
            e.abort()

    def _close_source(self) -> None:
        try:
            self._source_closer()
        except BaseException as exc:  # noqa: BLE001 - reported as the source's error
            if self._error is None:
                self._fail(self.source_name, exc)

    def _close_stage(self, i: int) -> None:
        try:
            self._closers[i]()
        except BaseException as exc:  # noqa: BLE001 - a sink failing to finalise is an error
            self._fail(self.names[i], exc)

    def _finish(self, packet: FramePacket) -> None:
        """A packet left the last stage."""
        now = time.perf_counter()
        self._e2e.add(now - packet.capture_time)
        self._rate.tick(now)
        self._frames_out += 1
        self._latest = packet
        if self.on_result is not None:
            try:
                self.on_result(packet)
            except BaseException as exc:  # noqa: BLE001
                self._fail("on_result", exc)

    def _source_loop(self) -> None:
        first = self.edges[0] if self.edges else None
        it = None
        n = 0
        try:
            if self._max_frames == 0:
                return
            it = iter(self.source)
            while self._stop_at is None:
                t = time.perf_counter()
                try:
                    packet = next(it)
                except StopIteration:
                    break
                self._source_lat.add(time.perf_counter() - t)
                self._frames_in += 1
                if first is None:
                    self._finish(packet)
                elif not first.put(packet):
                    break
                n += 1
                if self._max_frames is not None and n >= self._max_frames:
                    break
        except BaseException as exc:  # noqa: BLE001 - reported as the source's error
            # The frames already read are good: let them drain through every stage (as at
            # the end of the stream) and report the error once the graph has finished.
            self._fail(self.source_name, exc, drain=True)
        finally:
            # a generator must be finalised by the thread that runs it
            close_it = getattr(it, "close", None)
            if close_it is not None and it is not self.source:
                try:
                    close_it()
                except BaseException as exc:  # noqa: BLE001
                    if self._error is None:
                        self._fail(self.source_name, exc)
            self._close_source()
            if first is not None:
                first.close()
            self._wake.set()

    def _stage_loop(self, i: int) -> None:
        stage, name = self.stages[i], self.names[i]
        inq = self.edges[i]
        outq = self.edges[i + 1] if i + 1 < len(self.edges) else None
        lat = self._stage_lat[i]
        try:
            while True:
                packet = inq.get()
                if packet is END:
                    break
                t = time.perf_counter()
                out = stage(packet)
                dt = time.perf_counter() - t
                if not isinstance(out, FramePacket):
                    raise TypeError(
                        f"returned {type(out).__name__}, not a FramePacket; "
                        "a stage must return the packet it was given (enriched)"
                    )
                out.timings[name] = dt
                lat.add(dt)
                if outq is None:
                    self._finish(out)
                elif not outq.put(out):
                    break
        except BaseException as exc:  # noqa: BLE001 - reported as this stage's error
            self._fail(name, exc)
        finally:
            # downstream first, so it can drain while this stage finalises
            if outq is not None:
                outq.close()
            self._close_stage(i)
            self._wake.set()

    def _supervise(self) -> None:
        """Runs the shutdown policy and always marks the graph finished, even if it fails."""
        give_up_at: float | None = None
        try:
            give_up_at = self._supervise_loop()
        except BaseException as exc:  # noqa: BLE001 - a dead supervisor would hang run()
            self._fail("graph:supervisor", exc)
            give_up_at = self._stop_deadline()
        finally:
            self._finalize(give_up_at)

    def _supervise_loop(self) -> float | None:
        """Turns stop requests into source close / drain / abort within stop_timeout.

        Returns the deadline for joining the threads (None: they had all ended by
        themselves before any stop request was seen).
        """
        source_closed = False
        give_up_at: float | None = None
        while any(t.is_alive() for t in self._threads):
            self._wake.wait(_POLL_S)
            self._wake.clear()
            stop_at = self._stop_at
            if stop_at is None:
                continue
            if give_up_at is None:
                give_up_at = self._stop_deadline()
                assert give_up_at is not None
            if not source_closed:
                source_closed = True
                # in its own thread: a source's close() may block (a camera driver), and
                # the supervisor must still enforce the deadline; joined like the others
                closer = threading.Thread(
                    target=self._close_source, name=f"graph:close:{self.source_name}", daemon=True
                )
                closer.start()
                self._threads.append(closer)
            now = time.perf_counter()
            drain_until = max(stop_at, self._t0) + (0.0 if self._force else self.stop_timeout / 2)
            if not self._aborted and now >= drain_until:
                self._abort()
            if now >= give_up_at:
                break
        return give_up_at

    def _alive_threads(self) -> list[str]:
        """Names of the runtime's threads (nodes, closers, supervisor) still running."""
        alive = [t.name for t in self._threads if t.is_alive()]
        sup = self._supervisor
        if sup is not None and sup is not threading.current_thread() and sup.is_alive():
            alive.append(sup.name)
        return alive

    def _finalize(self, join_until: float | None, take_over: bool = False) -> None:
        """Join the node threads until ``join_until``, close what is left, mark finished.

        Runs once, from the supervisor or (``take_over``, a last resort) from run()/wait().
        Every wait in here is bounded, so the graph is always marked finished; a take-over
        that finds the supervisor still finalising, late, marks it finished at once.
        """
        with self._lock:
            already = self._finalizing
            self._finalizing = True
        if already:
            if take_over and not self._finished.is_set():
                with self._lock:
                    self._stuck = self._alive_threads()
                    self._t_end = time.perf_counter()
                    self._finished.set()
            return
        stuck: list[str] = []
        try:
            until = time.perf_counter() if join_until is None else join_until
            for t in list(self._threads):
                t.join(max(0.0, until - time.perf_counter()))
            stuck = self._alive_threads()
            if stuck:
                log.warning(
                    "graph threads still running after stop_timeout=%.1fs: %s; closing their "
                    "stages anyway (they are daemon threads and end with the process)",
                    self.stop_timeout,
                    stuck,
                )
                # in a thread of its own: close() of a node whose thread is stuck may block
                # too, and must not keep the graph from finishing
                closer = threading.Thread(
                    target=self._close_everything, name="graph:close:stuck", daemon=True
                )
                closer.start()
                closer.join(_CLOSE_GRACE_S)
                if closer.is_alive():
                    stuck.append(closer.name)
        finally:
            with self._lock:
                if not self._finished.is_set():  # else a take-over already reported
                    self._stuck = stuck
                    self._t_end = time.perf_counter()
                    self._finished.set()

    def _close_everything(self) -> None:
        """Close the source and every stage that is not closed yet (each at most once)."""
        self._close_source()
        for i in range(len(self.stages)):
            self._close_stage(i)
