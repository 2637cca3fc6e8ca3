"""Plot training curves from a run's ``metrics.csv`` to PNG.

``python -m trainer.plot runs/NAME/metrics.csv [-o curves.png] [--columns loss AP]``

Uses matplotlib when it is installed (it is not a poselive dependency); otherwise draws a
plain chart with OpenCV, which poselive always has.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np

from poselive.errors import ConfigError
from poselive.interrupts import reraise_interrupt

DEFAULT_COLUMNS = ("loss", "lr", "AP")


def read_metrics(path: str | Path) -> dict[str, np.ndarray]:
    """Columns of a metrics.csv as float arrays (NaN where a row has no value)."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"metrics file not found: {p}")
    rows = list(csv.DictReader(open(p, newline="")))
    if not rows:
        raise ConfigError(f"{p} has no rows yet")
    return {k: np.array([float(r[k]) if r.get(k) not in (None, "") else np.nan for r in rows])
            for k in rows[0]}


def _plot_matplotlib(data: dict, columns: list[str], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(columns), 1, figsize=(7, 2.4 * len(columns)), sharex=True)
    for ax, c in zip(np.atleast_1d(axes), columns):
        ok = ~np.isnan(data[c])
        ax.plot(data["epoch"][ok], data[c][ok], marker="o" if ok.sum() < 30 else None)
        ax.set_ylabel(c)
        ax.grid(alpha=0.3)
    np.atleast_1d(axes)[-1].set_xlabel("epoch")
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)


def _plot_opencv(data: dict, columns: list[str], out: Path) -> None:
    import cv2

    w, h, pad = 640, 180, 40
    canvas = np.full((h * len(columns), w, 3), 255, np.uint8)
    x = data["epoch"]
    for i, c in enumerate(columns):
        y = data[c]
        ok = ~np.isnan(y)
        top = i * h
        cv2.rectangle(canvas, (pad, top + 10), (w - 10, top + h - 25), (200, 200, 200), 1)
        cv2.putText(canvas, c, (5, top + 25), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
        if ok.sum() == 0:
            continue
        lo, hi = float(np.nanmin(y)), float(np.nanmax(y))
        span = hi - lo or 1.0
        xs = pad + (x[ok] - x.min()) / max(x.max() - x.min(), 1) * (w - pad - 10)
        ys = top + h - 25 - (y[ok] - lo) / span * (h - 35)
        pts = np.stack([xs, ys], 1).astype(np.int32)
        cv2.polylines(canvas, [pts], False, (180, 80, 20), 2, cv2.LINE_AA)
        for v, yy in ((hi, top + 20), (lo, top + h - 28)):
            cv2.putText(canvas, f"{v:.3g}", (w - 90, yy), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (90, 90, 90), 1, cv2.LINE_AA)
    cv2.putText(canvas, f"epoch {int(x.min())}..{int(x.max())}", (pad, canvas.shape[0] - 6),
                cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
    if not cv2.imwrite(str(out), canvas):
        raise ConfigError(f"cannot write {out}")


def plot_metrics(metrics_csv: str | Path, out: str | Path | None = None,
                 columns: list[str] | tuple[str, ...] = DEFAULT_COLUMNS) -> Path:
    """Plot the given columns of ``metrics.csv`` against the epoch; returns the PNG path."""
    data = read_metrics(metrics_csv)
    cols = [c for c in columns if c in data and not np.isnan(data[c]).all()]
    if not cols:
        raise ConfigError(f"none of the columns {list(columns)} has values in {metrics_csv}")
    out = Path(out) if out else Path(metrics_csv).with_name("curves.png")
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        reraise_interrupt(exc)
        _plot_opencv(data, cols, out)
    else:
        _plot_matplotlib(data, cols, out)
    return out


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("metrics_csv")
    ap.add_argument("-o", "--out", default=None)
    ap.add_argument("--columns", nargs="+", default=list(DEFAULT_COLUMNS))
    a = ap.parse_args(argv)
    try:
        print(plot_metrics(a.metrics_csv, a.out, a.columns))
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
