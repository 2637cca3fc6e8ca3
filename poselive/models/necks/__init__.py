"""Necks (registered in poselive.models.registry.NECKS)."""
