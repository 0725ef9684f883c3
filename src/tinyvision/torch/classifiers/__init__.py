"""PyTorch twins of the course models, under the module paths the course imports them from."""
