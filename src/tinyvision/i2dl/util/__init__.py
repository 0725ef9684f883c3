"""`exercise_code.util` of the facial-keypoints exercise: `show_all_keypoints`."""

from tinyvision.i2dl.util.vis_utils import show_all_keypoints

__all__ = ["show_all_keypoints"]
