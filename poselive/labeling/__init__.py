"""Pseudo-labelling: teacher models over images and videos -> COCO keypoint annotations.

``Labeler`` labels one image (detector or official boxes, pose teachers, QC);
``LabelRun`` runs it over a ``LabelJob`` (folders, videos, exclusion of evaluation
images, frame de-duplication) and writes ``pseudo_keypoints.json`` and ``stats.json``;
``find_overlap`` proves by content hash that no evaluation image is in a training set.
``poselive.labeling.cli`` is the ``poselive label`` command.
"""

from poselive.labeling.boxes import OfficialBoxes
from poselive.labeling.hashing import EvalLeakError, ExclusionSet, find_overlap, image_hashes
from poselive.labeling.labeler import Labeler, PersonLabel
from poselive.labeling.qc import FrameDeduper, QCConfig
from poselive.labeling.run import ANNOTATIONS, BOX_ANNOTATIONS, STATS, LabelJob, LabelRun

__all__ = ["ANNOTATIONS", "BOX_ANNOTATIONS", "STATS", "EvalLeakError", "ExclusionSet", "FrameDeduper", "LabelJob",
           "LabelRun", "Labeler", "OfficialBoxes", "PersonLabel", "QCConfig", "find_overlap",
           "image_hashes"]
