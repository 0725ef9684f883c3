"""losses layers."""

__all__: list[str] = []
