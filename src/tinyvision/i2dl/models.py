"""`exercise_code.models` of the I2DL autoencoder exercise: `Encoder`, `Decoder`,
`Autoencoder` and `Classifier`, with the exercise's constructor signatures and methods.

Thin re-export of tinyvision.torch.applications.autoencoder (the PyTorch track; it needs the
torch extra). The networks there are convolutional, for MNIST's 28x28 and CIFAR-10's 32x32x3.
"""

from tinyvision.torch.applications.autoencoder import Autoencoder, Classifier, Decoder, Encoder

__all__ = ["Autoencoder", "Classifier", "Decoder", "Encoder"]
