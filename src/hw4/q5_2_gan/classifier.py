"""The judge: a small CNN trained once on MNIST, used to measure generated samples.

Its predicted digits give the mode coverage of a generator, and its penultimate features
give a Fréchet distance in a space that knows what digits look like (an MNIST stand-in for
the Inception features of FID, Heusel et al. 2017).
"""
from __future__ import annotations

import time
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F
from tqdm import tqdm

from hw4.core import store
from hw4.core.errors import Hw4Error

FEATURES = 128


class Classifier(nn.Module):
    """Two strided 5x5 convolutions (16 and 32 channels), a 128-unit feature layer, 10 logits.
    Strides instead of pooling keep it cheap on a CPU: it scores 5,000 samples in a fraction
    of a second, which matters because it runs after every epoch of every experiment."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 5, stride=2, padding=2)
        self.conv2 = nn.Conv2d(16, 32, 5, stride=2, padding=2)
        self.fc = nn.Linear(32 * 7 * 7, FEATURES)
        self.out = nn.Linear(FEATURES, 10)

    def features(self, x):
        h = F.relu(self.conv1(x.reshape(-1, 1, 28, 28)))
        h = F.relu(self.conv2(h))
        return F.relu(self.fc(h.flatten(1)))

    def forward(self, x):
        return self.out(self.features(x))


def train_classifier(images, labels, *, seed: int, epochs: int, batch: int, lr: float,
                     lr_decay: float = 1.0, progress: bool | None = None) -> Classifier:
    """Adam on shuffled minibatches, the rate multiplied by `lr_decay` after each epoch;
    images in [-1, 1] as (N, 784), like the GAN's output."""
    gen = torch.Generator(images.device).manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = Classifier().to(images.device)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    steps = len(images) // batch
    bar = tqdm(total=epochs * steps, desc="classifier", disable=None if progress is None else not progress)
    for _ in range(epochs):
        order = torch.randperm(len(images), generator=gen, device=images.device)
        for i in range(steps):
            idx = order[i * batch:(i + 1) * batch]
            loss = F.cross_entropy(model(images[idx]), labels[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            bar.update()
        for group in opt.param_groups:
            group["lr"] *= lr_decay
    bar.close()
    return model.eval()


@torch.no_grad()
def predict(model: Classifier, images, chunk: int = 2000):
    """(logits, features) for many images, in chunks to bound memory."""
    logits, feats = [], []
    for part in images.split(chunk):
        f = model.features(part)
        feats.append(f)
        logits.append(model.out(f))
    return torch.cat(logits), torch.cat(feats)


def accuracy(model: Classifier, images, labels) -> float:
    logits, _ = predict(model, images)
    return (logits.argmax(1) == labels).float().mean().item()


def run_classifier(section, out_dir: Path | str) -> None:
    """Task edge: train on MNIST's training set, test on its test set, save the weights and
    the test set's feature statistics (the reference of every Fréchet distance)."""
    from hw4.core import device as dev
    from hw4.q5_2_gan.data import load_mnist
    from hw4.q5_2_gan.metrics import gaussian

    out_dir = Path(out_dir)
    device = dev.pick()
    train_x, train_y = load_mnist(train=True)
    test_x, test_y = load_mnist(train=False)
    n = min(section.train_images, len(train_x))
    start = time.perf_counter()
    with dev.cpu_threads(section.cpu_threads):
        model = train_classifier(train_x[:n].to(device), train_y[:n].to(device), seed=section.seed,
                                 epochs=section.epochs, batch=section.batch, lr=section.lr,
                                 lr_decay=section.lr_decay)
        seconds = time.perf_counter() - start
        logits, feats = predict(model, test_x.to(device))
    acc = (logits.argmax(1).cpu() == test_y).float().mean().item()
    mu, cov = gaussian(feats)
    store.save_torch(out_dir / "classifier.pt", {"state": model.cpu().state_dict(),
                                                 "test_mu": mu.cpu(), "test_cov": cov.cpu()})
    store.save_result(out_dir / "metrics.json", {
        "accuracy": acc, "test_images": len(test_x), "train_images": n,
        "features": FEATURES, "train_seconds": round(seconds, 1)}, section)
    if acc < section.min_accuracy:
        raise Hw4Error(f"the MNIST classifier reached {acc:.4f} test accuracy, below "
                       f"classifier.min_accuracy = {section.min_accuracy} in hw4.toml; "
                       f"train longer (classifier.epochs) or on more images (classifier.train_images)")


def load_judge(path: Path | str, device="cpu"):
    """(classifier, test feature mean, test feature covariance) saved by run_classifier."""
    saved = store.load_torch(path)
    model = Classifier()
    model.load_state_dict(saved["state"])
    return model.to(device).eval(), saved["test_mu"].to(device), saved["test_cov"].to(device)
