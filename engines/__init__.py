"""Engines: one small protocol over ONNX Runtime, PyTorch and TensorRT backends.

An engine takes named input arrays and returns named output arrays, and carries the
model's spec (empty for external models that have none). Pre- and post-processing live
in poselive, not here, so every backend gives the same keypoints.
"""
