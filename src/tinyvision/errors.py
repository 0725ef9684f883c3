"""Errors raised at tinyvision's public boundary."""


class DataError(ValueError):
    """Data that exists but cannot be used: corrupt, truncated, or of the wrong form."""
