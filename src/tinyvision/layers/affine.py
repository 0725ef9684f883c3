"""affine layers."""

__all__: list[str] = []
