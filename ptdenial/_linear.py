"""Former home of the additive linear base, kept so older model files load.

The code now lives in :mod:`ptdenial.model._linear`. Model files written
before that move name their base ``ptdenial._linear.LinearBase``; skops
resolves that path when loading, so it stays importable here.
"""

from ptdenial.model._linear import MAX_ROWS, MIN_CATEGORY_COUNT, LinearBase

__all__ = ["LinearBase", "MIN_CATEGORY_COUNT", "MAX_ROWS"]
