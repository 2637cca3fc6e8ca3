"""Stages: plain synchronous objects, each taking a FramePacket and returning it enriched.

They know nothing about threads or queues (the graph runtime owns those) and nothing about
which backend runs a model: they receive any object with the Engine protocol.
"""

from poselive.stages.detector import DetectorStage
from poselive.stages.pose import PoseStage
from poselive.stages.render import Renderer

__all__ = ["DetectorStage", "PoseStage", "Renderer"]
