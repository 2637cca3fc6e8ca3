"""Codecs: keypoints in model-input pixels <-> training targets and model outputs.

``encode`` makes training targets from keypoints in model-input space; ``decode`` turns
raw model outputs back into keypoints in model-input space with scores. Both work on
numpy only, so inference never needs torch. A codec is built from a plain dict spec
``{"type": NAME, **params}``; a new codec is one module plus one line in ``CODECS``.
"""

from __future__ import annotations

from typing import Any

from poselive.codecs.heatmap import MSRAHeatmapCodec, UDPHeatmapCodec
from poselive.codecs.movenet import MoveNetCodec
from poselive.codecs.regression import RegressionLabelCodec
from poselive.codecs.simcc import SimCCCodec
from poselive.errors import ConfigError

CODECS: dict[str, type] = {
    "simcc": SimCCCodec,
    "msra_heatmap": MSRAHeatmapCodec,
    "udp_heatmap": UDPHeatmapCodec,
    "regression": RegressionLabelCodec,
    "movenet": MoveNetCodec,
    # short aliases (params() always reports the full name)
    "msra": MSRAHeatmapCodec,
    "udp": UDPHeatmapCodec,
}


def build_codec(spec: dict[str, Any]):
    """Build a codec from ``{"type": name, **params}``."""
    spec = dict(spec)
    name = spec.pop("type", None)
    if name not in CODECS:
        raise ConfigError(f"unknown codec '{name}'; known: {', '.join(sorted(CODECS))}")
    try:
        return CODECS[name](**spec)
    except TypeError as exc:
        raise ConfigError(f"bad parameters for codec '{name}': {exc}") from exc
