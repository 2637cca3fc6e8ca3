"""The bundled trainer: datasets, transforms, losses, the training loop and evaluation.

Entry points: ``trainer.train.train_from_config`` (``poselive train``) and
``trainer.evaluate.evaluate`` (``poselive eval``); see docs/training.md.
"""
