"""Heads (registered in poselive.models.registry.HEADS)."""
