"""ByteTrack-style multi-person tracker with a box Kalman filter and a box-IoU + OKS cost.

Association per frame (``PoseTracker.update``):

1. predict every live track (confirmed and lost) to the frame's time;
2. match high-score detections to confirmed and lost tracks (cost 1 - fused similarity);
3. match low-score detections to the confirmed tracks still unmatched (ByteTrack's second
   stage: partially occluded people get low detector scores but should keep their track);
4. match the remaining high-score detections to tentative tracks, then the remaining
   low-score ones to tentative tracks born from a low score; a tentative track that
   misses a frame is removed;
5. start tentative tracks from high-score detections still unmatched, and from low-score
   ones that show a skeleton (``low_track_keypoints`` confident keypoints) away from
   known people: people entering the image or first seen half hidden, whom the detector
   scores low, are then confirmed after ``low_track_hits`` frames instead of never;
6. remove lost tracks not seen for ``max_lost_time`` seconds.

The fused similarity is ``(1 - w) * IoU + w * OKS`` between the track's predicted box and
skeleton and the detection's; where fewer than ``min_keypoints`` keypoints are visible in
both, ``IoU / 2`` stands in for the OKS.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import numpy as np

from poselive.errors import ConfigError
from poselive.geometry import box_iou
from poselive.keypoints import get_keypoint_set
from poselive.tracking.assignment import linear_assignment
from poselive.tracking.kalman import BoxKalmanFilter, box_xyxy_to_xyah, xyah_to_box_xyxy
from poselive.tracking.oks import oks_matrix


class TrackState(enum.IntEnum):
    """Life-cycle state of a track."""

    TENTATIVE = 0  # seen, not yet confirmed (its detections get ID -1)
    CONFIRMED = 1  # matched in this frame or the previous ones
    LOST = 2  # confirmed once, unmatched now; kept for re-identification until max age
    REMOVED = 3


@dataclass
class Track:
    """One tracked person: Kalman state of its box plus its last skeleton."""

    track_id: int
    mean: np.ndarray  # Kalman state [8]: cx, cy, a, h and their velocities (per second)
    cov: np.ndarray  # [8, 8]
    keypoints: np.ndarray | None  # [K, 2] last observed skeleton (image px)
    keypoint_scores: np.ndarray | None  # [K]
    score: float
    born: float  # time (s) of the first detection
    last_seen: float  # time (s) of the last matched detection
    time: float  # time (s) the Kalman state refers to
    state: TrackState = TrackState.TENTATIVE
    hits: int = 1
    required_hits: int = 1  # matched frames needed to be confirmed (more if born from a low score)
    low_born: bool = False  # started from a low-score detection (see PoseTracker.low_track_hits)
    last_box: np.ndarray = field(default_factory=lambda: np.zeros(4, np.float32))

    @property
    def box(self) -> np.ndarray:
        """Current (predicted or updated) box xyxy float32 [4]."""
        return xyah_to_box_xyxy(self.mean[:4])

    @property
    def velocity(self) -> np.ndarray:
        """Velocity of the box centre in px/s [2]."""
        return self.mean[4:6].astype(np.float32)

    def predicted_keypoints(self) -> np.ndarray | None:
        """Last skeleton moved and scaled with the box from its last detection to now."""
        if self.keypoints is None:
            return None
        lx1, ly1, lx2, ly2 = self.last_box
        last_c = np.array([(lx1 + lx2) / 2, (ly1 + ly2) / 2], np.float32)
        last_h = max(ly2 - ly1, 1e-3)
        cx, cy, _, h = self.mean[:4]
        ratio = float(h) / float(last_h)
        return ((self.keypoints - last_c) * ratio + np.array([cx, cy], np.float32)).astype(np.float32)


class PoseTracker:
    """Multi-person tracker: ``update(boxes, scores, keypoints, keypoint_scores, t) -> ids``.

    IDs count up from 1 and are never reused. Parameters:

    - ``high_threshold`` / ``low_threshold``: detection scores of the first and second
      association stage (below ``low_threshold`` a detection is ignored);
    - ``new_track_threshold``: minimum score to start a track;
    - ``match_threshold``, ``low_match_threshold``, ``tentative_match_threshold``: maximum
      cost (1 - similarity) accepted in stages 1, 2 and 3;
    - ``oks_weight``: weight of OKS against box IoU in the similarity (0 = IoU only);
    - ``min_hits``: consecutive matched frames before a track is confirmed;
    - ``max_lost_time``: seconds a lost track is kept before it is removed;
    - ``lost_velocity_halflife``: seconds over which a lost track's velocity halves, so a
      person who stops behind an occluder or leaves and steps back is still near its box;
    - ``keypoint_threshold``: keypoint score above which a keypoint counts for OKS;
    - ``image_size`` (width, height): needed by ``border_reentry`` (``TrackerStage`` sets
      it from the frames);
    - ``low_track_hits``: a low-score detection (between ``low_threshold`` and
      ``high_threshold``) that matches no track starts a tentative track, confirmed after
      this many matched frames in a row (0 = never, ByteTrack's rule). It must show at
      least ``low_track_keypoints`` keypoints scored above ``low_track_keypoint_threshold``
      (a pose model is rarely confident on background) and overlap no confirmed or lost
      track by more than ``low_track_max_iou`` box IoU (there it is more likely a second
      box on a known person, or someone hidden whose track is about to come back);
    - ``confirm_score``: a new track whose detection scores at least this and shows a
      skeleton (``low_track_keypoints`` keypoints above ``low_track_keypoint_threshold``)
      is confirmed at once, so the person has an ID from their first frame; less sure
      ones wait ``min_hits`` frames (None: all wait, except on the tracker's first frame);
    - ``border_reentry``: park lost tracks at the image border instead of letting them
      drift out of it, and compare boxes clipped to the image, so that a person who steps
      out and back in where they left keeps their ID. Off by default: where people pass
      through (a street), the next person entering where another left would inherit that
      ID (see docs/tracking.md for both cases measured).
    """

    def __init__(self, keypoint_set: str = "coco17", high_threshold: float = 0.5,
                 low_threshold: float = 0.1, new_track_threshold: float = 0.5,
                 match_threshold: float = 0.8, low_match_threshold: float = 0.7,
                 tentative_match_threshold: float = 0.7, oks_weight: float = 0.7,
                 min_hits: int = 2, max_lost_time: float = 1.5,
                 lost_velocity_halflife: float = 2.0, keypoint_threshold: float = 0.3,
                 min_keypoints: int = 3, image_size: tuple[int, int] | None = None,
                 border_reentry: bool = False, low_track_hits: int = 2,
                 low_track_keypoints: int = 4, low_track_keypoint_threshold: float = 0.5,
                 low_track_max_iou: float = 0.3, confirm_score: float | None = 0.7) -> None:
        if not 0.0 <= oks_weight <= 1.0:
            raise ConfigError(f"oks_weight must be within [0, 1], got {oks_weight}")
        if not 0.0 <= low_threshold <= high_threshold:
            raise ConfigError("need 0 <= low_threshold <= high_threshold; "
                              f"got {low_threshold} and {high_threshold}")
        if min_hits < 1 or max_lost_time < 0 or low_track_hits < 0:
            raise ConfigError("min_hits must be >= 1, low_track_hits >= 0 and max_lost_time >= 0; "
                              f"got {min_hits}, {low_track_hits} and {max_lost_time}")
        self.keypoint_set = get_keypoint_set(keypoint_set)
        self.sigmas = self.keypoint_set.sigmas_array()
        self.high_threshold = high_threshold
        self.low_threshold = low_threshold
        self.new_track_threshold = new_track_threshold
        self.match_threshold = match_threshold
        self.low_match_threshold = low_match_threshold
        self.tentative_match_threshold = tentative_match_threshold
        self.oks_weight = oks_weight
        self.min_hits = min_hits
        self.max_lost_time = max_lost_time
        self.lost_velocity_halflife = lost_velocity_halflife
        self.keypoint_threshold = keypoint_threshold
        self.min_keypoints = min_keypoints
        self.image_size = image_size
        self.border_reentry = border_reentry
        self.low_track_hits = low_track_hits
        self.low_track_keypoints = low_track_keypoints
        self.low_track_max_iou = low_track_max_iou
        self.confirm_score = confirm_score
        self.low_track_keypoint_threshold = low_track_keypoint_threshold
        self.kf = BoxKalmanFilter()
        self.tracks: dict[int, Track] = {}
        self._next_id = 1
        self._frame = 0
        self._time: float | None = None
        # ByteTrack's rule: on the first frame nobody can be confused with an older track,
        # so confident detections get their ID at once instead of after min_hits frames.
        self._first_frame = True

    # -- public API -----------------------------------------------------------------------

    def reset(self) -> None:
        """Forget all tracks (IDs keep counting up, so they are still never reused)."""
        self.tracks.clear()
        self._time = None
        self._first_frame = True

    def update(self, boxes: np.ndarray, scores: np.ndarray, keypoints: np.ndarray | None = None,
               keypoint_scores: np.ndarray | None = None, t: float | None = None) -> np.ndarray:
        """Associate one frame's detections; track ID per detection (int64 [N], -1 if none).

        ``boxes`` [N,4] xyxy, ``scores`` [N], ``keypoints`` [N,K,2] and ``keypoint_scores``
        [N,K] in original-image pixels (keypoints optional: IoU only), ``t`` in seconds
        (default: frame count / 30).
        """
        boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
        n = len(boxes)
        scores = np.asarray(scores, np.float32).reshape(n)
        if keypoints is not None:
            keypoints = np.asarray(keypoints, np.float32)
            k = keypoints.shape[-2] if keypoints.ndim == 3 else self.keypoint_set.num_keypoints
            keypoints = keypoints.reshape(n, k, 2)
            if k != len(self.sigmas):
                raise ConfigError(f"got {k} keypoints per person but the tracker's keypoint set "
                                  f"'{self.keypoint_set.name}' has {len(self.sigmas)}; "
                                  "make PoseTracker(keypoint_set=...) match the pose model")
            if keypoint_scores is None:
                keypoint_scores = np.ones(keypoints.shape[:2], np.float32)
            keypoint_scores = np.asarray(keypoint_scores, np.float32).reshape(keypoints.shape[:2])
        if t is None:
            t = self._frame / 30.0
        t = float(t)
        if self._time is not None and t < self._time:
            raise ConfigError(f"tracker time went backwards ({self._time} -> {t}); "
                              "pass the source timestamps in seconds, or call reset()")
        self._frame += 1
        self._time = t
        out_ids = np.full(n, -1, np.int64)

        self._predict_all(t)
        live = [tr for tr in self.tracks.values() if tr.state in (TrackState.CONFIRMED, TrackState.LOST)]
        tentative = [tr for tr in self.tracks.values() if tr.state == TrackState.TENTATIVE]

        high = np.flatnonzero(scores >= self.high_threshold)
        low = np.flatnonzero((scores >= self.low_threshold) & (scores < self.high_threshold))

        # Stage 1: high-score detections against confirmed and lost tracks.
        matches, un_tracks, un_high = self._associate(live, high, boxes, keypoints, keypoint_scores,
                                                      self.match_threshold)
        for ti, di in matches:
            self._apply(live[ti], high[di], boxes, scores, keypoints, keypoint_scores, t, out_ids)
        # Stage 2: low-score detections against the tracks still unmatched. Unlike ByteTrack,
        # lost tracks take part: a person half hidden or half out of the image right after a
        # miss gets low scores, and would otherwise come back with a new ID.
        rest = [live[i] for i in un_tracks]
        matches2, un_rest, un_low = self._associate(rest, low, boxes, keypoints, keypoint_scores,
                                                    self.low_match_threshold)
        for ti, di in matches2:
            self._apply(rest[ti], low[di], boxes, scores, keypoints, keypoint_scores, t, out_ids)
        for i in un_rest:
            if rest[i].state == TrackState.CONFIRMED:
                rest[i].state = TrackState.LOST
        # Stage 3: remaining detections against tentative tracks (high-score detections
        # first; low-score ones only when low-score tracks may start, see stage 4).
        high_left = high[un_high]
        matches3, un_tent, un_high3 = self._associate(tentative, high_left, boxes, keypoints,
                                                      keypoint_scores, self.tentative_match_threshold)
        for ti, di in matches3:
            self._apply(tentative[ti], high_left[di], boxes, scores, keypoints, keypoint_scores, t, out_ids)
        for i in un_tent:
            if not tentative[i].low_born:
                tentative[i].state = TrackState.REMOVED
        # Tracks born from a low score go on with low-score detections (a high-score one
        # is what the others need, as in ByteTrack).
        low_left = low[un_low] if self.low_track_hits > 0 else low[:0]
        tent_low = [tentative[i] for i in un_tent if tentative[i].low_born]
        matches3b, un_tent_b, un_low3 = self._associate(tent_low, low_left, boxes, keypoints,
                                                        keypoint_scores, self.tentative_match_threshold)
        for ti, di in matches3b:
            self._apply(tent_low[ti], low_left[di], boxes, scores, keypoints, keypoint_scores, t, out_ids)
        for i in un_tent_b:
            tent_low[i].state = TrackState.REMOVED
        # Stage 4: new tentative tracks from high-score detections, and from low-score ones
        # with enough visible keypoints (people entering the image or half hidden, whom the
        # detector scores low until they are fully in view); the latter need more hits.
        for di in high_left[un_high3]:
            if scores[di] >= self.new_track_threshold:
                self._start(di, boxes, scores, keypoints, keypoint_scores, t, out_ids)
        live_boxes = self._track_boxes([tr for tr in self.tracks.values()
                                        if tr.state in (TrackState.CONFIRMED, TrackState.LOST)])
        for di in low_left[un_low3]:
            # A low-score detection over a known person is more likely a second box on
            # them, or someone half hidden behind them whose track is about to come back.
            near = box_iou(boxes[di][None], live_boxes).max() if len(live_boxes) else 0.0
            if near <= self.low_track_max_iou and self._has_skeleton(di, keypoint_scores):
                self._start(di, boxes, scores, keypoints, keypoint_scores, t, out_ids, low_score=True)
        # Stage 5: forget tracks lost for too long.
        for tid, tr in list(self.tracks.items()):
            if tr.state == TrackState.LOST and t - tr.last_seen > self.max_lost_time:
                tr.state = TrackState.REMOVED
            if tr.state == TrackState.REMOVED:
                del self.tracks[tid]
        self._first_frame = False
        return out_ids

    def confirmed_ids(self) -> list[int]:
        """IDs of tracks currently confirmed (matched in the last frame)."""
        return [tid for tid, tr in self.tracks.items() if tr.state == TrackState.CONFIRMED]

    def velocities(self, ids: np.ndarray) -> np.ndarray:
        """Box-centre velocity in px/s [N, 2] of the given track IDs (0 for unknown/-1)."""
        out = np.zeros((len(ids), 2), np.float32)
        for i, tid in enumerate(np.asarray(ids).reshape(-1)):
            tr = self.tracks.get(int(tid))
            if tr is not None:
                out[i] = tr.velocity
        return out

    # -- internals ------------------------------------------------------------------------

    def _predict_all(self, t: float) -> None:
        for tr in self.tracks.values():
            dt = t - tr.time
            decay = 1.0
            if tr.state == TrackState.LOST and self.lost_velocity_halflife > 0:
                decay = 0.5 ** (dt / self.lost_velocity_halflife)
            if tr.state == TrackState.LOST:
                # Extrapolating a size change through an occlusion is mostly wrong (the
                # box shrank because the person was being hidden): keep the size.
                tr.mean[6:8] = 0.0
            tr.mean, tr.cov = self.kf.predict(tr.mean, tr.cov, dt, decay)
            tr.time = t
            if tr.state == TrackState.LOST and self.border_reentry and self.image_size is not None:
                self._park_at_border(tr)

    def _park_at_border(self, tr: Track) -> None:
        """Keep a lost track's box at least partly in the image and stop it moving out.

        A person who walks out of view and steps back in usually returns where they left;
        a track extrapolated far outside the image could never be matched again.
        """
        W, H = self.image_size
        cx, cy, a, h = tr.mean[:4]
        half_w = a * h / 2
        lo_x, hi_x = -0.5 * half_w, W + 0.5 * half_w  # at most 3/4 of the box outside
        lo_y, hi_y = -0.5 * h / 2, H + 0.5 * h / 2
        if cx < lo_x or cx > hi_x:
            tr.mean[0] = min(max(cx, lo_x), hi_x)
            tr.mean[4] = 0.0
        if cy < lo_y or cy > hi_y:
            tr.mean[1] = min(max(cy, lo_y), hi_y)
            tr.mean[5] = 0.0

    def _track_boxes(self, tracks: list[Track]) -> np.ndarray:
        """Predicted boxes [T,4]; clipped to the image when its size is known, like the
        detector's boxes, so a person half out of view is compared like with like."""
        if not tracks:
            return np.zeros((0, 4), np.float32)
        b = np.stack([tr.box for tr in tracks])
        if self.border_reentry and self.image_size is not None:
            W, H = self.image_size
            b = np.clip(b, 0, [W, H, W, H]).astype(np.float32)
        return b

    def _similarity(self, tracks: list[Track], det_idx: np.ndarray, boxes: np.ndarray,
                    keypoints: np.ndarray | None, keypoint_scores: np.ndarray | None) -> np.ndarray:
        """Fused similarity [T, D] between predicted tracks and detections."""
        tboxes = self._track_boxes(tracks)
        iou = box_iou(tboxes, boxes[det_idx])
        if keypoints is None or self.oks_weight == 0.0:
            return iou
        tk = [tr.predicted_keypoints() for tr in tracks]
        has = np.array([k is not None for k in tk], bool)
        sim = iou.copy()
        if has.any():
            rows = np.flatnonzero(has)
            tk_arr = np.stack([tk[i] for i in rows])
            ts_arr = np.stack([tracks[i].keypoint_scores for i in rows])
            wh = tboxes[rows, 2:] - tboxes[rows, :2]
            # OKS scale: the COCO object area is roughly half of the person box area.
            areas = 0.53 * wh[:, 0] * wh[:, 1]
            oks, valid = oks_matrix(tk_arr, ts_arr, keypoints[det_idx], keypoint_scores[det_idx],
                                    areas, self.sigmas, self.keypoint_threshold, self.min_keypoints)
            w = self.oks_weight
            # Where OKS is undefined (too few keypoints seen in both), half the IoU stands in
            # for it: IoU alone would make such a pair look better than a well-matched
            # skeleton, and a person hidden behind another would take over the other's track.
            oks = np.where(valid, oks, 0.5 * iou[rows])
            sim[rows] = (1.0 - w) * iou[rows] + w * oks
        return sim

    def _associate(self, tracks: list[Track], det_idx: np.ndarray, boxes, keypoints, keypoint_scores,
                   threshold: float):
        if not tracks or len(det_idx) == 0:
            return np.zeros((0, 2), np.int64), np.arange(len(tracks)), np.arange(len(det_idx))
        sim = self._similarity(tracks, det_idx, boxes, keypoints, keypoint_scores)
        # A pair whose boxes do not overlap at all is never matched, whatever the OKS says.
        cost = np.where(box_iou(self._track_boxes(tracks), boxes[det_idx]) > 0, 1.0 - sim, 2.0)
        return linear_assignment(cost, threshold)

    def _apply(self, tr: Track, di: int, boxes, scores, keypoints, keypoint_scores, t: float,
               out_ids: np.ndarray) -> None:
        tr.mean, tr.cov = self.kf.update(tr.mean, tr.cov, box_xyxy_to_xyah(boxes[di]))
        tr.last_box = boxes[di].copy()
        if keypoints is not None:
            tr.keypoints = keypoints[di].copy()
            tr.keypoint_scores = keypoint_scores[di].copy()
        tr.score = float(scores[di])
        tr.last_seen = t
        tr.hits += 1
        if scores[di] >= self.high_threshold:
            tr.required_hits = min(tr.required_hits, self.min_hits)
        if tr.state == TrackState.LOST:
            tr.state = TrackState.CONFIRMED
        elif tr.state == TrackState.TENTATIVE and tr.hits >= tr.required_hits:
            tr.state = TrackState.CONFIRMED
        if tr.state == TrackState.CONFIRMED:
            out_ids[di] = tr.track_id

    def _has_skeleton(self, di: int, keypoint_scores: np.ndarray | None) -> bool:
        """True when a detection shows enough confident keypoints to be a person."""
        if keypoint_scores is None:
            return False
        confident = keypoint_scores[di] > self.low_track_keypoint_threshold
        return int(confident.sum()) >= self.low_track_keypoints

    def _sure_at_sight(self, di: int, scores: np.ndarray, keypoint_scores: np.ndarray | None) -> bool:
        """Whether a new high-score track is confirmed at once (its ID from its first frame):
        on the tracker's first frame (ByteTrack's rule: there is no older track to confuse
        it with), or when the detector is sure (``confirm_score``) and the pose shows a
        skeleton; other new tracks wait ``min_hits`` frames."""
        if self._first_frame:
            return True
        return (self.confirm_score is not None and float(scores[di]) >= self.confirm_score
                and self._has_skeleton(di, keypoint_scores))

    def _start(self, di: int, boxes, scores, keypoints, keypoint_scores, t: float,
               out_ids: np.ndarray, low_score: bool = False) -> None:
        mean, cov = self.kf.initiate(box_xyxy_to_xyah(boxes[di]))
        tid = self._next_id
        self._next_id += 1
        tr = Track(tid, mean, cov,
                   None if keypoints is None else keypoints[di].copy(),
                   None if keypoint_scores is None else keypoint_scores[di].copy(),
                   float(scores[di]), born=t, last_seen=t, time=t, last_box=boxes[di].copy(),
                   required_hits=self.low_track_hits if low_score else self.min_hits,
                   low_born=low_score)
        if tr.required_hits <= 1 or (not low_score and self._sure_at_sight(di, scores, keypoint_scores)):
            tr.state = TrackState.CONFIRMED
            out_ids[di] = tid
        self.tracks[tid] = tr
