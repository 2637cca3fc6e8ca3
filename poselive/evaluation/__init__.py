"""Evaluation metrics shared by the trainer and inference-side tools (numpy only).

COCO keypoint AP/AR from OKS and person-box AP (``coco``), and distance metrics for other
keypoint sets: PCK, AUC, EPE, NME (``keypoint_metrics``).
"""

from poselive.evaluation.coco import box_ap, coco_evaluate, keypoint_ap, oks_nms
from poselive.evaluation.keypoint_metrics import auc, epe, nme, pck_accuracy

__all__ = ["coco_evaluate", "keypoint_ap", "box_ap", "oks_nms", "pck_accuracy", "auc", "epe", "nme"]
