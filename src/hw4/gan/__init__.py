"""Q5.2: a GAN on MNIST, trained in three regimes, its samples judged by a small classifier.

data.py loads MNIST once into tensors; nets.py holds the reference networks; train.py the
training loop with checkpoints; classifier.py the judge; metrics.py the sample-quality numbers.
This package file stays light (no torch import), so dodo.py may import from it.
"""
