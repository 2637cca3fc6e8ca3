"""trainer.plot draws a PNG from a metrics.csv (matplotlib when installed, else OpenCV)."""

from __future__ import annotations

import cv2
import pytest

from poselive.errors import ConfigError
from trainer.plot import main, plot_metrics


def test_plot_writes_png(tmp_path):
    csv_path = tmp_path / "metrics.csv"
    lines = ["epoch,iter,lr,loss,AP"] + [f"{e},{e * 10},{0.004 / e},{1.0 / e},{'' if e % 2 else e / 10}"
                                         for e in range(1, 9)]
    csv_path.write_text("\n".join(lines) + "\n")
    out = plot_metrics(csv_path)
    img = cv2.imread(str(out))
    assert out.name == "curves.png" and img is not None and img.shape[0] > 100
    assert (img < 250).any()  # something was drawn
    assert main([str(csv_path), "-o", str(tmp_path / "x.png"), "--columns", "loss"]) == 0
    with pytest.raises(ConfigError, match="none of the columns"):
        plot_metrics(csv_path, columns=["nope"])
