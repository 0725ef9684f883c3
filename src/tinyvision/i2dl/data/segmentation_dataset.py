"""I2DL's `exercise_code/data/segmentation_dataset.py`: the MSRC-v2 segmentation data.

`SEG_LABELS_LIST` (the colour table: void -1 and 23 classes), `SegmentationData(
image_paths_file)` (pairs of a (3, 240, 240) image tensor in [0, 1] and a (240, 240) int64
label tensor) and `label_img_to_rgb(label_img)`, all from tinyvision.data.segmentation.
"""

from tinyvision.data.segmentation import SEG_LABELS_LIST, SegmentationData, label_img_to_rgb

__all__ = ["SEG_LABELS_LIST", "SegmentationData", "label_img_to_rgb"]
