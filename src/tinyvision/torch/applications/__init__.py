"""Applications of the PyTorch track (I2DL exercises 8-10 and the notes): one module each."""
