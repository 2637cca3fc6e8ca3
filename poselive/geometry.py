"""Geometry shared by inference and training: boxes, affine crops and letterboxing.

Three coordinate spaces (MMPose's vocabulary): the *original image*, the *model input*
(the crop or letterboxed image the network sees) and the *model output* (heatmap or
SimCC bins; mapped by the codecs). Function names say which spaces they map between.
Sizes are given as (width, height) everywhere in this module.
"""

from __future__ import annotations

import cv2
import numpy as np


def box_xyxy_to_center_scale(boxes: np.ndarray, padding: float = 1.25) -> tuple[np.ndarray, np.ndarray]:
    """Boxes [N,4] xyxy -> centres [N,2] and scales (w, h) [N,2] enlarged by ``padding``."""
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    center = (boxes[:, :2] + boxes[:, 2:]) * 0.5
    scale = (boxes[:, 2:] - boxes[:, :2]) * padding
    return center.astype(np.float32), scale.astype(np.float32)


def center_scale_to_box_xyxy(center: np.ndarray, scale: np.ndarray, padding: float = 1.25) -> np.ndarray:
    """Inverse of ``box_xyxy_to_center_scale``."""
    center = np.asarray(center, np.float32).reshape(-1, 2)
    half = np.asarray(scale, np.float32).reshape(-1, 2) / padding * 0.5
    return np.concatenate([center - half, center + half], axis=1)


def fix_aspect_ratio(scale: np.ndarray, aspect_ratio: float) -> np.ndarray:
    """Grow scales [N,2] so that w/h == aspect_ratio (never shrinks a side)."""
    scale = np.asarray(scale, np.float32).reshape(-1, 2).copy()
    w, h = scale[:, 0], scale[:, 1]
    too_wide = w > h * aspect_ratio
    scale[:, 1] = np.where(too_wide, w / aspect_ratio, h)
    scale[:, 0] = np.where(too_wide, w, h * aspect_ratio)
    return scale


def keypoints_to_box_xyxy(keypoints: np.ndarray, scores: np.ndarray | None = None,
                          threshold: float = 0.0) -> np.ndarray:
    """Tight boxes [N,4] around keypoints [N,K,2] whose score exceeds ``threshold``."""
    kpts = np.asarray(keypoints, np.float32)
    boxes = np.zeros((kpts.shape[0], 4), np.float32)
    for i in range(kpts.shape[0]):
        pts = kpts[i] if scores is None else kpts[i][scores[i] > threshold]
        if len(pts):
            boxes[i] = (*pts.min(0), *pts.max(0))
    return boxes


def image_to_input_matrix(center, scale, input_size: tuple[int, int], rotation: float = 0.0,
                          shift=(0.0, 0.0), udp: bool = False) -> np.ndarray:
    """2x3 affine matrix from original-image pixels to model-input pixels.

    The region of size ``scale`` (w, h) about ``center``, rotated by ``rotation`` degrees
    (counter-clockwise) and shifted by ``shift`` (fractions of scale), fills the input of
    ``input_size`` (w, h). With ``udp`` (unbiased data processing) pixel centres map to
    pixel centres: the span is ``size - 1`` instead of ``size``.
    """
    cx, cy = float(center[0]), float(center[1])
    sw, sh = float(scale[0]), float(scale[1])
    cx += sw * shift[0]
    cy += sh * shift[1]
    out_w, out_h = input_size
    if udp:
        out_w, out_h = out_w - 1.0, out_h - 1.0
    sx, sy = out_w / sw, out_h / sh
    theta = np.deg2rad(rotation)
    c, s = np.cos(theta), np.sin(theta)
    # dst = S * R(-rotation) * (src - centre) + out/2 ; image y axis points down.
    m = np.array([[sx * c, sx * s, 0.0], [-sy * s, sy * c, 0.0]], np.float64)
    m[:, 2] = np.array([out_w * 0.5, out_h * 0.5]) - m[:, :2] @ np.array([cx, cy])
    return m.astype(np.float32)


def invert_affine(matrix: np.ndarray) -> np.ndarray:
    """Inverse of a 2x3 affine matrix."""
    return cv2.invertAffineTransform(np.asarray(matrix, np.float64)).astype(np.float32)


def apply_affine(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Apply a 2x3 affine matrix to points [..., 2]."""
    pts = np.asarray(points, np.float32)
    m = np.asarray(matrix, np.float32)
    return pts @ m[:, :2].T + m[:, 2]


def input_to_image_points(points: np.ndarray, center, scale, input_size: tuple[int, int],
                          udp: bool = False) -> np.ndarray:
    """Points [K,2] in model-input pixels of one crop -> original-image pixels."""
    m = image_to_input_matrix(center, scale, input_size, udp=udp)
    return apply_affine(points, invert_affine(m))


def input_to_image_points_batch(points: np.ndarray, centers: np.ndarray, scales: np.ndarray,
                                input_size: tuple[int, int], udp: bool = False) -> np.ndarray:
    """Points [N,K,2] in model-input pixels -> original-image pixels (no rotation).

    Vectorised form of ``input_to_image_points`` for the per-frame hot path.
    """
    pts = np.asarray(points, np.float32)
    out = np.array(input_size, np.float32) - (1.0 if udp else 0.0)
    ratio = np.asarray(scales, np.float32)[:, None, :] / out
    return (pts - out * 0.5) * ratio + np.asarray(centers, np.float32)[:, None, :]


def crop_image_to_input(image: np.ndarray, center, scale, input_size: tuple[int, int],
                        rotation: float = 0.0, udp: bool = False, border_value=0) -> np.ndarray:
    """Top-down affine crop of one person: original image -> model input (H, W, C)."""
    m = image_to_input_matrix(center, scale, input_size, rotation, udp=udp)
    return cv2.warpAffine(image, m, (int(input_size[0]), int(input_size[1])),
                          flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                          borderValue=border_value)


def crop_batch(image: np.ndarray, centers: np.ndarray, scales: np.ndarray,
               input_size: tuple[int, int], udp: bool = False) -> np.ndarray:
    """Crops of all persons of a frame stacked into one [N, H, W, C] batch."""
    w, h = int(input_size[0]), int(input_size[1])
    batch = np.empty((len(centers), h, w, image.shape[2]), image.dtype)
    for i, (c, s) in enumerate(zip(centers, scales)):
        batch[i] = crop_image_to_input(image, c, s, input_size, udp=udp)
    return batch


def letterbox(image: np.ndarray, input_size: tuple[int, int], pad_value: int = 114,
              centered: bool = False) -> tuple[np.ndarray, float, tuple[float, float]]:
    """Resize keeping the aspect ratio and pad to ``input_size`` (w, h).

    Returns the padded image, the resize ratio and the (x, y) offset of the image inside
    the padded input (0, 0 when placed top-left).
    """
    h, w = image.shape[:2]
    in_w, in_h = input_size
    ratio = min(in_w / w, in_h / h)
    new_w, new_h = max(1, int(round(w * ratio))), max(1, int(round(h * ratio)))
    resized = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR) if (new_w, new_h) != (w, h) else image
    out = np.full((in_h, in_w, image.shape[2]), pad_value, image.dtype)
    ox, oy = ((in_w - new_w) // 2, (in_h - new_h) // 2) if centered else (0, 0)
    out[oy:oy + new_h, ox:ox + new_w] = resized
    return out, ratio, (float(ox), float(oy))


def input_to_image_boxes(boxes: np.ndarray, ratio: float, offset=(0.0, 0.0),
                         image_size: tuple[int, int] | None = None) -> np.ndarray:
    """Boxes [N,4] xyxy in letterboxed-input pixels -> original-image pixels (clipped)."""
    b = np.asarray(boxes, np.float32).reshape(-1, 4).copy()
    b[:, [0, 2]] = (b[:, [0, 2]] - offset[0]) / ratio
    b[:, [1, 3]] = (b[:, [1, 3]] - offset[1]) / ratio
    if image_size is not None:
        b[:, [0, 2]] = b[:, [0, 2]].clip(0, image_size[0])
        b[:, [1, 3]] = b[:, [1, 3]].clip(0, image_size[1])
    return b


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU [N, M] of boxes a [N,4] and b [M,4] (xyxy)."""
    a = np.asarray(a, np.float32).reshape(-1, 4)
    b = np.asarray(b, np.float32).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod((rb - lt).clip(min=0), axis=2)
    area_a = np.prod((a[:, 2:] - a[:, :2]).clip(min=0), axis=1)
    area_b = np.prod((b[:, 2:] - b[:, :2]).clip(min=0), axis=1)
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9)


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float = 0.45) -> np.ndarray:
    """Greedy non-maximum suppression; indices of kept boxes, best first."""
    order = np.argsort(-np.asarray(scores))
    keep = []
    boxes = np.asarray(boxes, np.float32)
    while order.size:
        i = order[0]
        keep.append(i)
        if order.size == 1:
            break
        ious = box_iou(boxes[i:i + 1], boxes[order[1:]])[0]
        order = order[1:][ious <= iou_threshold]
    return np.asarray(keep, np.int64)
