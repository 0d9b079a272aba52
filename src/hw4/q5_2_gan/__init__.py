"""Q5.2: a GAN on MNIST, trained in three regimes, its samples judged by a small classifier.

data.py loads MNIST once into tensors; nets.py holds the reference networks; train.py the
training loop with checkpoints; classifier.py the judge; metrics.py the sample-quality numbers;
figures.py the figures; tasks.py the doit tasks. This file stays light (no torch import), since
dodo.py imports the package to build its task list.
"""
from hw4.core.config import as_dict


def experiment_settings(gan, name: str) -> dict:
    """Everything experiment `name` of the [gan] section runs with, flat: the shared keys and its
    own. The one place that says which settings an experiment depends on: its task reruns when
    they change, its checkpoint resumes only under them, and its results file records them."""
    shared = {k: v for k, v in as_dict(gan).items() if k != "experiments"}
    return {**shared, "experiment": name, **as_dict(gan.experiments[name])}
