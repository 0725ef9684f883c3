"""The course's models: kNN, linear classifiers, fully-connected, convolutional and captioning nets."""
