"""Importers: external pretrained models -> self-describing poselive checkpoints.

Each importer is one module exposing

- ``matches(onnx_model) -> bool``: whether this loaded ``onnx.ModelProto`` is its kind;
- ``import_model(path, **kw) -> dict``: ``{"spec", "model"}`` (a built module) or
  ``{"spec", "state_dict"}``, the spec building the model with
  ``poselive.models.build_model`` (``kw``: ``name``, ``license``; an importer may ignore them).

plus one line in ``IMPORTERS``. ``import_file`` picks the importer, adds the provenance
(source file name, sha256, license) and writes the checkpoint.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from poselive.errors import ModelError, require
from poselive.models.importers import movenet, rtmdet

IMPORTERS: dict[str, Any] = {
    "movenet": movenet,
    "rtmdet": rtmdet,
}


def file_sha256(path: str | Path) -> str:
    """Hex sha256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_onnx(path: str | Path):
    """The ONNX model at ``path``, or a ModelError saying why it is not one."""
    onnx = require("onnx", "torch", "importing ONNX models")
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"no such file: {path}")
    try:
        return onnx.load(str(path))
    except Exception as exc:  # protobuf raises several types for non-ONNX bytes
        raise ModelError(f"{path} is not an ONNX model ({type(exc).__name__}); poselive import "
                         f"reads ONNX files of these kinds: {', '.join(IMPORTERS)}") from exc


def find_importer(proto, path: str | Path = "") -> str:
    """The name of the importer that recognises ``proto``."""
    for name, module in IMPORTERS.items():
        if module.matches(proto):
            return name
    raise ModelError(f"{Path(path).name or 'the model'} is not a model poselive can import "
                     f"(known kinds: {', '.join(IMPORTERS)})")


def import_checkpoint(source: str | Path, name: str | None = None, license: str | None = None,
                      importer: str | None = None) -> dict:
    """Convert ``source`` to a checkpoint dict with provenance in ``spec["provenance"]``."""
    source = Path(source)
    if importer is None:
        importer = find_importer(load_onnx(source), source)
    elif importer not in IMPORTERS:
        raise ModelError(f"unknown importer '{importer}'; known: {', '.join(IMPORTERS)}")
    kw = {k: v for k, v in (("name", name), ("license", license)) if v is not None}
    ckpt = IMPORTERS[importer].import_model(source, **kw)
    prov = ckpt["spec"].setdefault("provenance", {})
    prov.update({"imported_from": source.name, "source_sha256": file_sha256(source),
                 "importer": importer})
    if license is not None:
        prov["license"] = license
    return ckpt


def write_checkpoint(ckpt: dict, out: str | Path, half: bool = False) -> Path:
    """Write a checkpoint dict as a poselive checkpoint (weights checked against the spec).

    ``half`` stores float tensors as float16 (loading casts them back to float32); only
    lossless for weights that are float16 values already, as MoveNet's are.
    """
    from poselive.models import build_model
    from poselive.models.checkpoint import save_checkpoint

    model = build_model(ckpt["spec"])
    try:
        model.load_state_dict(ckpt["state_dict"], strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0]
        raise ModelError(f"the imported weights do not fit the architecture in the spec: {first}") from exc
    if half:
        model = model.half()
    return save_checkpoint(out, model, ckpt["spec"])


def import_file(source: str | Path, out: str | Path, name: str | None = None, license: str | None = None,
                importer: str | None = None, half: bool = False) -> Path:
    """``poselive import``: convert ``source`` and write the checkpoint to ``out``."""
    return write_checkpoint(import_checkpoint(source, name, license, importer), out, half=half)


__all__ = ["IMPORTERS", "find_importer", "import_checkpoint", "import_file", "load_onnx", "write_checkpoint"]
