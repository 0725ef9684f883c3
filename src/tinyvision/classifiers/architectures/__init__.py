"""The notes' named architectures, one module each, as Module-API classifiers of 32x32 images.

`lenet` (LeNet-5), `alexnet` (a small AlexNet), `vgg` (VGG-11/13/16/19 configurations),
`inception` (GoogLeNet's Inception blocks), `resnet` (basic residual blocks); `base` holds what
they share (the ImageClassifier Sequential and the conv-bn-relu unit).
"""

from .alexnet import AlexNetSmall
from .base import ImageClassifier
from .inception import INCEPTION_BLOCKS, InceptionNet, inception_block
from .lenet import LeNet5
from .resnet import ResNet
from .vgg import VGG, VGG_CONFIGURATIONS

__all__ = [
    "INCEPTION_BLOCKS",
    "VGG",
    "VGG_CONFIGURATIONS",
    "AlexNetSmall",
    "ImageClassifier",
    "InceptionNet",
    "LeNet5",
    "ResNet",
    "inception_block",
]
