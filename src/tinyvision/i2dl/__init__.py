"""The TUM I2DL exercises' `exercise_code` package under tinyvision's name.

Exercise code runs after renaming `exercise_code.` to `tinyvision.i2dl.`: each module here keeps
the exercise's module path, class names and signatures (both spellings where they changed
between years) as a thin adapter over tinyvision's own core (`tinyvision.data`, `layers`, `nn`,
`optim`, `solver`). Importing this package imports nothing else; import the sub-package you need
(`tinyvision.i2dl.data`, ...).
"""
