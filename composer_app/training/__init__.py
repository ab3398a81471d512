"""Training: windows and augmentation, configuration, the training loop."""
