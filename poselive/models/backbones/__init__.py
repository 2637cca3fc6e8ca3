"""Backbones (registered in poselive.models.registry.BACKBONES)."""
