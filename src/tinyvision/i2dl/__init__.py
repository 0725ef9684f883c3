"""I2DL (TUM) exercise code: `exercise_code.X` is `tinyvision.i2dl.X`."""
