"""Applications of the PyTorch track (I2DL): one module per application."""
