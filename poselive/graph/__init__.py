"""The graph runtime: stages in threads joined by bounded queues (knows nothing about pose)."""

from poselive.graph.edges import Edge, EdgePolicy
from poselive.graph.multi import GraphOutcome, run_graphs
from poselive.graph.protocols import Source, Stage
from poselive.graph.runtime import Graph
from poselive.graph.stats import GraphStats, StageStats

__all__ = ["Edge", "EdgePolicy", "Graph", "GraphOutcome", "GraphStats", "run_graphs", "Source", "Stage", "StageStats"]
