"""Multi-person tracking, keypoint smoothing and detection-interval scheduling.

- ``PoseTracker``: ByteTrack-style tracker (Kalman on boxes, IoU + OKS cost); IDs per detection.
- ``OneEuroFilter`` / ``KeypointSmoother``: One-Euro smoothing of keypoints per track.
- ``DetectionScheduler``: run the detector every N frames, person ROIs from poses in between.
- ``mean_oks_between_runs``: compare two JSONL pose outputs of the same video.
"""

from poselive.tracking.compare import compare_runs, mean_oks_between_runs
from poselive.tracking.scheduler import DetectionScheduler
from poselive.tracking.smoothing import KeypointSmoother, OneEuroFilter
from poselive.tracking.tracker import PoseTracker, Track, TrackState

__all__ = ["PoseTracker", "Track", "TrackState", "OneEuroFilter", "KeypointSmoother",
           "DetectionScheduler", "compare_runs", "mean_oks_between_runs"]
