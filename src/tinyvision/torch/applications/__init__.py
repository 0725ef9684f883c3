"""Applications of the PyTorch track (issue 15): one module per application."""
