"""Importers of external pretrained models into poselive checkpoints: one file per source format.

``IMPORTERS`` maps a name to a module with ``matches(onnx_model) -> bool`` and
``import_model(path, **kw) -> {"model", "spec", ...}``.
"""

from __future__ import annotations

from poselive.models.importers import rtmdet

IMPORTERS = {
    "rtmdet": rtmdet,
}
