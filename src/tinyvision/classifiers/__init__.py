"""The course models: kNN, linear classifiers, fully-connected, conv and captioning nets."""
