"""The PyTorch track (optional extra `tinyvision[torch]`): the courses' PyTorch exercises.

Course code written for `cs231n.` PyTorch modules runs with `tinyvision.torch.` in their place
(the NumPy modules keep `tinyvision.`). Nothing here is imported by the NumPy engine, so the
engine works without torch installed.
"""
