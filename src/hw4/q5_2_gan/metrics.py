"""How good are generated digits? Numbers computed by the classifier, not read off pictures.

- digit distribution: the share of samples the classifier assigns to each digit; its entropy
  (log2 10 = 3.32 bits when uniform) and mode coverage (digits holding at least a given share)
  expose mode collapse;
- confidence: the mean top softmax probability; blurry or unreadable samples score low;
- Fréchet distance between Gaussians fitted to classifier features of generated and test
  images (Heusel et al. 2017): ||mu1 - mu2||^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2)).
"""
from __future__ import annotations

import torch


def gaussian(features):
    """Mean and covariance (float64) of feature rows."""
    f = features.double()
    mu = f.mean(0)
    d = f - mu
    return mu, d.T @ d / (len(f) - 1)


def _sqrt_psd(a):
    w, v = torch.linalg.eigh((a + a.T) / 2)
    return (v * w.clamp(min=0).sqrt()) @ v.T


def frechet_distance(mu1, cov1, mu2, cov2) -> float:
    """tr((S1 S2)^(1/2)) is computed as tr((S1^(1/2) S2 S1^(1/2))^(1/2)): the same eigenvalues,
    but of a symmetric matrix, so it is stable without a general matrix square root."""
    r = _sqrt_psd(cov1)
    cross = torch.linalg.eigvalsh(r @ cov2 @ r).clamp(min=0).sqrt().sum()
    value = (mu1 - mu2).square().sum() + cov1.trace() + cov2.trace() - 2 * cross
    return max(value.item(), 0.0)


def digit_stats(logits, mode_share: float) -> dict:
    """Distribution of predicted digits, its entropy in bits, mode coverage, mean confidence."""
    prob = torch.softmax(logits.double(), 1)
    share = torch.bincount(prob.argmax(1), minlength=10).double() / len(prob)
    nz = share[share > 0]
    return {
        "digit_share": share.tolist(),
        "entropy_bits": max(0.0, -(nz * nz.log2()).sum().item()),  # never -0.0: max keeps the first of equals
        "modes": int((share >= mode_share).sum().item()),
        "confidence": prob.max(1).values.mean().item(),
    }


def quality(images, judge, mode_share: float) -> dict:
    """Every sample-quality number for generated `images` (N, 784) in [-1, 1].
    `judge` is (classifier, test feature mean, test feature covariance)."""
    from hw4.q5_2_gan.classifier import predict

    model, mu_test, cov_test = judge
    logits, feats = predict(model, images)
    mu, cov = gaussian(feats)
    return {**digit_stats(logits, mode_share), "fd": frechet_distance(mu, cov, mu_test, cov_test)}

