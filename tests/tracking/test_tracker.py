"""PoseTracker: life cycle, ID rules, two-stage association and MOT metrics on simulated crowds."""

from __future__ import annotations

import numpy as np
import pytest

from poselive.errors import ConfigError
from poselive.tracking import PoseTracker, TrackState
from poselive.tracking.assignment import linear_assignment
from poselive.tracking.evaluate import mot_scores, run_tracker_on
from poselive.tracking.simulate import simulate_plaza, skeleton_at


def person(x: float, y: float = 600.0, h: float = 300.0, phase: float = 0.0):
    """Box [4], keypoints [17,2] of a walker with feet at (x, y)."""
    k = skeleton_at(x, y, h, 1.0, phase)
    box = np.array([*k.min(0) - 10, *k.max(0) + 10], np.float32)
    return box, k


def frame(*people, scores=None):
    boxes = np.array([p[0] for p in people], np.float32).reshape(-1, 4)
    kpts = np.array([p[1] for p in people], np.float32).reshape(-1, 17, 2)
    sc = np.full(len(people), 0.9, np.float32) if scores is None else np.asarray(scores, np.float32)
    return boxes, sc, kpts, np.full(kpts.shape[:2], 0.9, np.float32)


def test_tentative_then_confirmed_and_stable_id():
    tr = PoseTracker(min_hits=2)
    tr.update(*frame(), t=0.0)  # not the tracker's first frame any more
    ids0 = tr.update(*frame(person(100), scores=[0.6]), t=1 / 30)  # sure enough to track, not at sight
    assert ids0.tolist() == [-1]
    assert list(tr.tracks.values())[0].state == TrackState.TENTATIVE
    ids = [tr.update(*frame(person(100 + 5 * i), scores=[0.6]), t=i / 30)[0] for i in range(2, 20)]
    assert len(set(ids)) == 1 and ids[0] >= 1
    assert tr.tracks[ids[0]].state == TrackState.CONFIRMED


def test_ids_from_a_persons_first_frame_where_the_tracker_can():
    # The tracker's first frame: nobody to confuse anyone with, everyone confident gets an ID.
    tr = PoseTracker(min_hits=2)
    first = tr.update(*frame(person(100), person(600), scores=[0.9, 0.6]), t=0.0)
    assert (first >= 1).all() and len(set(first.tolist())) == 2
    # Later, a newcomer the detector is sure of (with a skeleton) gets an ID at sight ...
    ids = tr.update(*frame(person(103), person(603), person(1100), scores=[0.9, 0.6, 0.9]), t=1 / 30)
    assert ids[:2].tolist() == first.tolist() and ids[2] >= 1 and ids[2] not in first
    # ... one it is less sure of waits min_hits frames, and so does everyone with the rule off.
    ids = tr.update(*frame(person(106), person(606), person(1103), person(1500), scores=[0.9, 0.6, 0.9, 0.6]),
                    t=2 / 30)
    assert ids[3] == -1
    tr = PoseTracker(confirm_score=None)
    tr.update(*frame(), t=0.0)
    assert tr.update(*frame(person(100)), t=1 / 30).tolist() == [-1]
    # After reset() (a looping source) the first-frame rule applies again.
    tr.reset()
    assert tr.update(*frame(person(100)), t=0.0)[0] >= 1


def test_ids_never_reused_after_removal():
    tr = PoseTracker(max_lost_time=0.2)
    seen = []
    for i in range(5):
        seen.append(int(tr.update(*frame(person(100)), t=i / 30)[0]))
    first = seen[-1]
    tr.update(*frame(), t=5 / 30)  # nobody: the track becomes lost
    assert tr.tracks[first].state == TrackState.LOST
    tr.update(*frame(), t=1.0)  # lost longer than max_lost_time: removed
    assert first not in tr.tracks
    later = [int(tr.update(*frame(person(100)), t=1.0 + i / 30)[0]) for i in range(1, 4)]
    assert later[-1] > first  # same place, new person: a new, larger ID


def test_lost_track_recovered_within_max_age():
    tr = PoseTracker(max_lost_time=1.0)
    for i in range(10):
        tid = tr.update(*frame(person(300 + 4 * i)), t=i / 30)[0]
    for i in range(10, 20):  # missed for a third of a second while walking on
        tr.update(*frame(), t=i / 30)
    back = tr.update(*frame(person(300 + 4 * 20)), t=20 / 30)[0]
    assert back == tid


def test_low_score_detection_keeps_track_but_does_not_start_one_at_once():
    tr = PoseTracker(high_threshold=0.5, low_threshold=0.1)
    for i in range(5):
        tid = tr.update(*frame(person(200 + 3 * i)), t=i / 30)[0]
    # Half occluded: the detector's score drops below the high threshold.
    ids = tr.update(*frame(person(215), person(900), scores=[0.3, 0.3]), t=5 / 30)
    assert ids[0] == tid
    assert ids[1] == -1  # the low-score stranger is not confirmed on sight
    assert len(tr.tracks) == 2 and tr.tracks[max(tr.tracks)].state == TrackState.TENTATIVE


def test_low_score_track_needs_persistence_and_a_skeleton():
    # Someone entering the image keeps a low detector score: with a confident skeleton
    # they get an ID after low_track_hits frames; without one (background), never.
    def run(kp_score: float, **kw) -> list[int]:
        tr = PoseTracker(**kw)
        out = []
        for i in range(6):
            b, s, k, ks = frame(person(300 + 4 * i), scores=[0.3])
            out.append(int(tr.update(b, s, k, np.full_like(ks, kp_score), t=i / 30)[0]))
        return out

    ids = run(0.9, low_track_hits=3)
    assert ids[:2] == [-1, -1] and ids[2] >= 1 and len(set(ids[2:])) == 1
    assert run(0.4) == [-1] * 6  # no keypoint above low_track_keypoint_threshold
    assert run(0.9, low_track_hits=0) == [-1] * 6  # ByteTrack's rule
    # A low-score box over a tracked person starts nothing (a second box on them).
    tr = PoseTracker()
    for i in range(4):
        tr.update(*frame(person(500)), t=i / 30)
    n = len(tr.tracks)
    b, s, k, ks = frame(person(500), person(520, h=280), scores=[0.9, 0.3])
    tr.update(b, s, k, ks, t=4 / 30)
    assert len(tr.tracks) == n


def test_assignment_keeps_a_strong_pair_over_two_weak_ones():
    # Row 0 fits column 0 well; pairing (0, 1) and (1, 0) instead matches more rows but
    # worse. Like lapjv's cost_limit, leaving row 1 and column 1 out must win.
    cost = np.array([[0.14, 0.74], [0.79, 0.95]])
    m, ur, uc = linear_assignment(cost, 0.8)
    assert m.tolist() == [[0, 0]] and ur.tolist() == [1] and uc.tolist() == [1]


def test_oks_separates_overlapping_people():
    # Two people at the same place but of different sizes: IoU alone is ambiguous, the
    # skeletons are not. Each must keep its own ID.
    tr = PoseTracker(oks_weight=0.7)
    small, big = (400, 600, 260), (410, 600, 330)
    for i in range(8):
        ids = tr.update(*frame(person(small[0], small[1], small[2], 0.1 * i),
                               person(big[0], big[1], big[2], 0.1 * i)), t=i / 30)
    a, b = ids
    swapped = tr.update(*frame(person(big[0], big[1], big[2], 0.8), person(small[0], small[1], small[2], 0.8)),
                        t=8 / 30)
    assert swapped.tolist() == [b, a]


def test_empty_input_and_time_going_backwards():
    tr = PoseTracker()
    assert tr.update(np.zeros((0, 4)), np.zeros(0), np.zeros((0, 17, 2)), np.zeros((0, 17)), 0.0).shape == (0,)
    assert tr.update(*frame(person(100))[:2], t=0.1).tolist() == [-1]  # keypoints optional
    with pytest.raises(ConfigError, match="backwards"):
        tr.update(*frame(person(100)), t=0.05)
    with pytest.raises(ConfigError):
        PoseTracker(oks_weight=2.0)
    with pytest.raises(ConfigError, match="keypoint set"):
        PoseTracker().update(np.zeros((1, 4)), np.ones(1), np.zeros((1, 5, 2)), np.ones((1, 5)), 0.0)


def test_greedy_fallback_agrees_on_clear_cases():
    cost = np.array([[0.1, 0.9, 0.8], [0.9, 0.2, 0.7], [0.95, 0.95, 0.99]])
    for use_scipy in (True, False):
        m, ur, uc = linear_assignment(cost, 0.8, use_scipy=use_scipy)
        assert sorted(map(tuple, m.tolist())) == [(0, 0), (1, 1)]
        assert ur.tolist() == [2] and uc.tolist() == [2]


@pytest.fixture(scope="module")
def crossing_sequence():
    # The first sequence of the crossing benchmark (benchmarks/tracking_eval.py).
    return simulate_plaza(num_people=12, duration=12.0, seed=0, crossing=True)


def test_crossing_scenario_metrics(crossing_sequence):
    crossings = crossing_sequence.crossings
    assert crossings >= 20  # the scenario really makes people cross
    fused = mot_scores([run_tracker_on(crossing_sequence.frames, PoseTracker)])
    iou_only = mot_scores([run_tracker_on(crossing_sequence.frames, lambda: PoseTracker(oks_weight=0.0))])
    # Target of issue 7: IDF1 >= 0.90 and at most 1 ID switch per 10 crossings (the
    # benchmark checks it on 5 and 5 more sequences; this one had IDF1 0.84 before
    # low-score track births and the cost-limited assignment).
    assert fused.id_switches <= crossings / 10
    assert fused.idf1 >= 0.90 and fused.mota > 0.8
    # The skeleton term is what makes crossings work: box IoU alone switches more.
    assert iou_only.id_switches > fused.id_switches
    assert iou_only.idf1 < fused.idf1


def _walk_out_and_back(tracker: PoseTracker) -> tuple[int, int]:
    """A person walks out of a 1280-px-wide image on the right and steps back in."""
    W = 1280
    xs = list(range(1100, 1400, 12)) + [None] * 10 + list(range(1400, 1100, -12))
    first = last = -1
    for i, x in enumerate(xs):
        if x is None:
            ids = tracker.update(*frame(), t=i / 30)
            continue
        box, k = person(x)
        vis = box[0] < W - 20  # the detector sees them while at least 20 px are inside
        box = np.clip(box, 0, [W, 720, W, 720])
        kpts_s = np.where(k[:, 0] < W, 0.9, 0.0)[None]
        ids = tracker.update(box[None] if vis else np.zeros((0, 4)), np.array([0.8])[:int(vis)],
                             k[None][:int(vis)], kpts_s[:int(vis)], t=i / 30)
        if vis and ids[0] >= 0:
            first = first if first >= 0 else int(ids[0])
            last = int(ids[0])
    return first, last


def test_border_reentry_keeps_the_id_of_who_stepped_back_in():
    first, last = _walk_out_and_back(PoseTracker(image_size=(1280, 720), border_reentry=True))
    assert first >= 0 and last == first
    first, last = _walk_out_and_back(PoseTracker(image_size=(1280, 720)))
    assert first >= 0 and last != first  # off by default: a new ID
