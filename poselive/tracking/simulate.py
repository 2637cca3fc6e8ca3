"""Synthetic crowds for tracking tests: COCO-17 walkers with ground truth and a noisy detector.

People walk back and forth along horizontal lanes of a plaza seen by a fixed camera:
lower lanes are closer (taller people, drawn in front), so walkers of nearby lanes cross
and occlude each other. A walker who reaches the image border leaves the image, pauses
out of view and comes back along the same lane. The simulated detector sees each person
according to how much of them is visible: missed when mostly hidden, low score when half
hidden (ByteTrack's second stage), box and keypoint noise, random misses and false
positives. Numpy only, deterministic for a seed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from poselive.geometry import box_iou

# Standing COCO-17 skeleton, feet at (0, 0), height 1, x to the person's left (image right).
_TEMPLATE = np.array([
    (0.00, -0.93), (0.02, -0.95), (-0.02, -0.95), (0.045, -0.94), (-0.045, -0.94),
    (0.11, -0.82), (-0.11, -0.82), (0.13, -0.65), (-0.13, -0.65), (0.14, -0.50), (-0.14, -0.50),
    (0.07, -0.52), (-0.07, -0.52), (0.07, -0.28), (-0.07, -0.28), (0.07, -0.03), (-0.07, -0.03),
], np.float32)
# Horizontal swing per keypoint at walking phase sin = 1 (legs and opposite arms).
_SWING = np.array([0, 0, 0, 0, 0, 0, 0, -0.03, 0.03, -0.07, 0.07, 0, 0, 0.06, -0.06, 0.13, -0.13],
                  np.float32)


@dataclass
class SimFrame:
    """Ground truth and simulated detections of one frame."""

    t: float
    gt_ids: np.ndarray  # [G] int64
    gt_boxes: np.ndarray  # [G, 4] visible people, clipped to the image
    gt_keypoints: np.ndarray  # [G, 17, 2]
    boxes: np.ndarray  # [N, 4] detections
    scores: np.ndarray  # [N]
    keypoints: np.ndarray  # [N, 17, 2]
    keypoint_scores: np.ndarray  # [N, 17]
    det_gt: np.ndarray  # [N] ground-truth ID behind each detection, -1 for false positives


@dataclass
class SimSequence:
    """A simulated sequence with its count of crossings between visible people."""

    frames: list[SimFrame]
    fps: float
    image_size: tuple[int, int]
    crossings: int = 0
    meta: dict = field(default_factory=dict)


@dataclass
class _Walker:
    pid: int
    lane_y: float
    height: float
    width: float
    speed: float
    x: float
    direction: int
    phase: float
    pause_left: float = 0.0


def skeleton_at(foot_x: float, foot_y: float, height: float, width: float, phase: float) -> np.ndarray:
    """COCO-17 keypoints [17, 2] of a walker with feet at (foot_x, foot_y)."""
    pts = _TEMPLATE.copy()
    pts[:, 0] = pts[:, 0] * width + _SWING * np.sin(phase) * width
    pts *= height
    pts[:, 0] += foot_x
    pts[:, 1] += foot_y
    return pts


def _box_of(kpts: np.ndarray, height: float) -> np.ndarray:
    x1, y1 = kpts.min(0)
    x2, y2 = kpts.max(0)
    return np.array([x1 - 0.05 * height, y1 - 0.06 * height, x2 + 0.05 * height, y2 + 0.02 * height],
                    np.float32)


def _covered(points: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Which points [P,2] fall inside any of the boxes [B,4]."""
    if len(boxes) == 0:
        return np.zeros(len(points), bool)
    inside = ((points[:, None, 0] >= boxes[None, :, 0]) & (points[:, None, 0] <= boxes[None, :, 2])
              & (points[:, None, 1] >= boxes[None, :, 1]) & (points[:, None, 1] <= boxes[None, :, 3]))
    return inside.any(1)


def simulate_plaza(num_people: int = 8, duration: float = 10.0, fps: float = 30.0,
                   image_size: tuple[int, int] = (1280, 720), seed: int = 0,
                   lanes: int = 3, leave_pause: tuple[float, float] = (0.2, 0.8),
                   miss_rate: float = 0.05, fp_per_frame: float = 0.3,
                   box_noise: float = 0.03, keypoint_noise: float = 0.015,
                   min_visible: float = 0.2, crossing: bool = False) -> SimSequence:
    """Simulate people crossing, occluding each other, leaving and coming back.

    With ``crossing`` the scene is the crossing scenario instead: people enter one at a
    time from alternating sides on two nearby lanes (left-to-right farther, right-to-left
    nearer), cross everyone coming the other way with partial occlusion, and leave for good.
    """
    rng = np.random.default_rng(seed)
    W, H = image_size
    horizon = 0.25 * H
    lane_ys = np.linspace(0.55 * H, 0.95 * H, lanes)
    walkers = []
    for pid in range(1, num_people + 1):
        if crossing:
            direction = 1 if pid % 2 else -1
            y = (0.68 if direction > 0 else 0.78) * H + float(rng.uniform(-0.02, 0.02)) * H
            height = float((y - horizon) * rng.uniform(0.9, 1.0))
            speed = float(rng.uniform(0.55, 0.65) * height)
            x = -0.3 * height if direction > 0 else W + 0.3 * height
            w = _Walker(pid, y, height, float(rng.uniform(0.9, 1.15)), speed, x, direction,
                        float(rng.uniform(0, 2 * np.pi)))
            # Staggered entries, so same-direction walkers rarely overlap for long.
            w.pause_left = (pid - 1) // 2 * duration / max(num_people // 2, 1) * 0.6 + rng.uniform(0, 0.5)
            walkers.append(w)
            continue
        # Jitter each walker's lane a little so that crossing people overlap but differ.
        y = float(rng.choice(lane_ys) + rng.uniform(-0.03, 0.03) * H)
        height = float((y - horizon) * rng.uniform(0.85, 1.05))
        walkers.append(_Walker(pid, y, height, float(rng.uniform(0.9, 1.15)),
                               float(rng.uniform(0.4, 1.0) * height), float(rng.uniform(0.05, 0.95) * W),
                               int(rng.choice([-1, 1])), float(rng.uniform(0, 2 * np.pi))))
    dt = 1.0 / fps
    frames: list[SimFrame] = []
    prev_x: dict[int, float] = {}
    crossings = 0
    crossed_pairs_last: dict[tuple[int, int], int] = {}
    for f in range(int(round(duration * fps))):
        t = f * dt
        for w in walkers:
            if w.pause_left > 0:
                w.pause_left -= dt
                continue
            w.x += w.direction * w.speed * dt
            w.phase += 2 * np.pi * 1.8 * dt * (w.speed / w.height) / 0.7
            margin = 0.3 * w.height
            if (w.direction > 0 and w.x > W + margin) or (w.direction < 0 and w.x < -margin):
                w.direction = -w.direction
                w.pause_left = float("inf") if crossing else float(rng.uniform(*leave_pause))
        # Draw order: farther (smaller lane y) first; nearer people hide them.
        order = sorted(walkers, key=lambda w: w.lane_y)
        full_boxes, kpts_all = {}, {}
        for w in order:
            k = skeleton_at(w.x, w.lane_y, w.height, w.width * w.direction, w.phase)
            kpts_all[w.pid] = k
            full_boxes[w.pid] = _box_of(k, w.height)
        gt_ids, gt_boxes, gt_kpts, vis_frac, kp_vis = [], [], [], {}, {}
        for i, w in enumerate(order):
            front = np.array([full_boxes[o.pid] for o in order[i + 1:]], np.float32).reshape(-1, 4)
            b = full_boxes[w.pid]
            gx, gy = np.meshgrid(np.linspace(b[0], b[2], 8), np.linspace(b[1], b[3], 8))
            grid = np.stack([gx.ravel(), gy.ravel()], 1)
            in_img = (grid[:, 0] >= 0) & (grid[:, 0] < W) & (grid[:, 1] >= 0) & (grid[:, 1] < H)
            v = float((in_img & ~_covered(grid, front)).mean())
            vis_frac[w.pid] = v
            k = kpts_all[w.pid]
            k_in = (k[:, 0] >= 0) & (k[:, 0] < W) & (k[:, 1] >= 0) & (k[:, 1] < H)
            kp_vis[w.pid] = (k_in, _covered(k, front))
            if v >= min_visible:
                gt_ids.append(w.pid)
                gt_boxes.append(np.clip(b, 0, [W, H, W, H]))
                gt_kpts.append(k)
        # Crossings: the order along x of two people in the image flips while they overlap
        # (counted whether or not the one behind is visible enough to be in the ground truth).
        in_image = [w.pid for w in walkers if full_boxes[w.pid][2] > 0 and full_boxes[w.pid][0] < W]
        for a_i in range(len(in_image)):
            for b_i in range(a_i + 1, len(in_image)):
                a, b = in_image[a_i], in_image[b_i]
                if a in prev_x and b in prev_x:
                    before = np.sign(prev_x[a] - prev_x[b])
                    now = np.sign(walkers[a - 1].x - walkers[b - 1].x)
                    if before != 0 and now != before and \
                            box_iou(full_boxes[a][None], full_boxes[b][None])[0, 0] > 0.1:
                        key = (min(a, b), max(a, b))
                        # Count a pair's crossing once even if the order flickers.
                        if f - crossed_pairs_last.get(key, -10 ** 6) > fps:
                            crossings += 1
                        crossed_pairs_last[key] = f
        prev_x = {pid: walkers[pid - 1].x for pid in in_image}
        # Detector.
        boxes, scores, dk, dks, det_gt = [], [], [], [], []
        for w in order:
            v = vis_frac[w.pid]
            if v < min_visible:
                continue
            if v >= 0.6:
                if rng.random() < miss_rate:
                    continue
                score = rng.uniform(0.6, 0.95)
            else:
                if rng.random() < 0.2:
                    continue
                score = rng.uniform(0.15, 0.5)
            b = np.clip(full_boxes[w.pid], 0, [W, H, W, H])
            bw, bh = b[2] - b[0], b[3] - b[1]
            b = b + rng.normal(0, box_noise, 4) * np.array([bw, bh, bw, bh])
            k_in, k_occ = kp_vis[w.pid]
            sig = np.where(k_occ, 4.0, 1.0) * keypoint_noise * w.height
            k = kpts_all[w.pid] + rng.normal(0, 1, (17, 2)) * sig[:, None]
            ks = np.where(k_occ, rng.uniform(0.05, 0.35, 17), rng.uniform(0.6, 0.95, 17))
            ks = np.where(k_in, ks, 0.0)
            boxes.append(b)
            scores.append(score)
            dk.append(k)
            dks.append(ks)
            det_gt.append(w.pid)
        for _ in range(rng.poisson(fp_per_frame)):
            h = rng.uniform(0.3, 0.6) * H
            cx, fy = rng.uniform(0, W), rng.uniform(0.5 * H, H)
            k = skeleton_at(cx, fy, h, 1.0, 0.0) + rng.normal(0, 0.08 * h, (17, 2))
            boxes.append(_box_of(k, h))
            scores.append(rng.uniform(0.1, 0.7))
            dk.append(k)
            dks.append(rng.uniform(0.0, 0.5, 17))
            det_gt.append(-1)
        frames.append(SimFrame(
            t, np.asarray(gt_ids, np.int64), np.asarray(gt_boxes, np.float32).reshape(-1, 4),
            np.asarray(gt_kpts, np.float32).reshape(-1, 17, 2),
            np.asarray(boxes, np.float32).reshape(-1, 4), np.asarray(scores, np.float32),
            np.asarray(dk, np.float32).reshape(-1, 17, 2), np.asarray(dks, np.float32).reshape(-1, 17),
            np.asarray(det_gt, np.int64)))
    return SimSequence(frames, fps, image_size, crossings,
                       {"num_people": num_people, "seed": seed, "lanes": lanes, "crossing": crossing})


def animate_annotated_frame(gt_ids: np.ndarray, gt_boxes: np.ndarray, gt_keypoints: np.ndarray,
                            gt_visible: np.ndarray, det_boxes: np.ndarray, det_scores: np.ndarray,
                            image_size: tuple[int, int], duration: float = 4.0, fps: float = 25.0,
                            seed: int = 0, wander: float = 0.35, drop_rate: float = 0.05,
                            keypoint_noise: float = 0.015) -> SimSequence:
    """A sequence made from one annotated real frame by moving a virtual camera over it.

    Real ground truth (boxes, keypoints, IDs) and real detector output of the same frame
    keep their layout, sizes, overlaps, scores and false positives; each frame zooms and
    pans the camera smoothly and lets every person wander by up to ``wander`` times their
    box width (so neighbours close in and overlap), drops detections at ``drop_rate`` and
    jitters boxes and keypoints. Detections are tied to the person they overlap most
    (IoU >= 0.5); the others are false positives that move with the camera.
    """
    rng = np.random.default_rng(seed)
    W, H = image_size
    gt_boxes = np.asarray(gt_boxes, np.float32).reshape(-1, 4)
    det_boxes = np.asarray(det_boxes, np.float32).reshape(-1, 4)
    iou = box_iou(det_boxes, gt_boxes)
    owner = np.where(iou.max(1, initial=0) >= 0.5, iou.argmax(1) if iou.size else -1, -1) \
        if len(gt_boxes) else np.full(len(det_boxes), -1)
    n_gt = len(gt_boxes)
    # Smooth per-person wandering: two sinusoids of random phase and period.
    periods = rng.uniform(1.5, 4.0, (n_gt, 2))
    phases = rng.uniform(0, 2 * np.pi, (n_gt, 2))
    widths = (gt_boxes[:, 2] - gt_boxes[:, 0]) if n_gt else np.zeros(0)
    frames = []
    centre = np.array([W / 2, H / 2], np.float32)
    for f in range(int(round(duration * fps))):
        t = f / fps
        zoom = 1.0 + 0.1 * np.sin(2 * np.pi * t / duration)
        pan = np.array([0.05 * W * np.sin(2 * np.pi * t / duration), 0.03 * H * np.sin(4 * np.pi * t / duration)])
        offs = np.zeros((n_gt, 2), np.float32)
        if n_gt:
            offs[:, 0] = wander * widths * np.sin(2 * np.pi * t / periods[:, 0] + phases[:, 0])
            offs[:, 1] = 0.3 * wander * widths * np.sin(2 * np.pi * t / periods[:, 1] + phases[:, 1])

        def cam(p: np.ndarray) -> np.ndarray:
            return ((p - centre) * zoom + centre + pan).astype(np.float32)

        def move_box(b: np.ndarray, off: np.ndarray) -> np.ndarray:
            return np.concatenate([cam(b[:2] + off), cam(b[2:] + off)])

        ids, boxes_gt, kpts_gt = [], [], []
        for g in range(n_gt):
            b = np.clip(move_box(gt_boxes[g], offs[g]), 0, [W, H, W, H])
            if b[2] - b[0] > 4 and b[3] - b[1] > 4:
                ids.append(int(gt_ids[g]))
                boxes_gt.append(b)
                kpts_gt.append(cam(gt_keypoints[g] + offs[g]))
        boxes, scores, kp, ks, det_gt = [], [], [], [], []
        for d in range(len(det_boxes)):
            if rng.random() < drop_rate:
                continue
            g = int(owner[d])
            off = offs[g] if g >= 0 else np.zeros(2, np.float32)
            b = move_box(det_boxes[d], off)
            bw, bh = b[2] - b[0], b[3] - b[1]
            b = b + rng.normal(0, 0.02, 4) * np.array([bw, bh, bw, bh])
            if g >= 0:
                k = cam(gt_keypoints[g] + off) + rng.normal(0, keypoint_noise * bh, (len(gt_keypoints[g]), 2))
                s = np.where(np.asarray(gt_visible[g]) > 0, rng.uniform(0.6, 0.95, len(k)), rng.uniform(0.0, 0.2, len(k)))
            else:
                k = skeleton_at((b[0] + b[2]) / 2, b[3], bh, 1.0, 0.0) + rng.normal(0, 0.08 * bh, (17, 2))
                s = rng.uniform(0.0, 0.5, 17)
            boxes.append(b)
            scores.append(float(np.clip(det_scores[d] + rng.normal(0, 0.03), 0.01, 1.0)))
            kp.append(k)
            ks.append(s)
            det_gt.append(int(gt_ids[g]) if g >= 0 else -1)
        k_n = gt_keypoints.shape[1] if n_gt else 17
        frames.append(SimFrame(
            t, np.asarray(ids, np.int64), np.asarray(boxes_gt, np.float32).reshape(-1, 4),
            np.asarray(kpts_gt, np.float32).reshape(-1, k_n, 2),
            np.asarray(boxes, np.float32).reshape(-1, 4), np.asarray(scores, np.float32),
            np.asarray(kp, np.float32).reshape(-1, k_n, 2), np.asarray(ks, np.float32).reshape(-1, k_n),
            np.asarray(det_gt, np.int64)))
    return SimSequence(frames, fps, image_size, 0, {"seed": seed, "source": "annotated frame"})
