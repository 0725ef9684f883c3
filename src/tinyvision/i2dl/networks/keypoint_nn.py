"""`exercise_code.networks.keypoint_nn`: the I2DL exercise's `KeypointModel(hparams)` and
`DummyKeypointModel()`, as built in tinyvision.torch.applications.keypoints (needs the torch
extra)."""

from tinyvision.torch.applications.keypoints import DummyKeypointModel, KeypointModel

__all__ = ["DummyKeypointModel", "KeypointModel"]
