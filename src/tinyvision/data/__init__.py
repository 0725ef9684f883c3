"""Data: CIFAR-10 (download, safe loading), the embedded digits and spirals, and the I2DL pipeline."""
