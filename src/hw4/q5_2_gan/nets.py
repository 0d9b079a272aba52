"""The reference GAN (facts.md section 2), written out: two MLPs and their presets.

Preset "A" is lyeoni/pytorch-mnist-GAN, the network the assignment's settings match
(Adam, lr 2e-4, batch 100): G 100-256-512-1024-784, D 784-1024-512-256-1, LeakyReLU(0.2),
dropout 0.3 after every hidden layer of D (active in every forward pass), tanh output.
Preset "B" is the smaller yunjey/pytorch-tutorial GAN (latent 64, ReLU in G, no dropout).
D returns logits: the losses take the sigmoid inside a stable log-sum-exp.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

IMAGE = 28 * 28


@dataclass(frozen=True)
class Preset:
    noise_dim: int
    g_hidden: tuple[int, ...]
    d_hidden: tuple[int, ...]
    g_slope: float      # LeakyReLU slope in G (0 = ReLU)
    d_slope: float
    dropout: float      # dropout probability after each hidden layer of D


PRESETS = {
    "A": Preset(noise_dim=100, g_hidden=(256, 512, 1024), d_hidden=(1024, 512, 256),
                g_slope=0.2, d_slope=0.2, dropout=0.3),
    "B": Preset(noise_dim=64, g_hidden=(256, 256), d_hidden=(256, 256),
                g_slope=0.0, d_slope=0.2, dropout=0.0),
}


def _layers(sizes):
    return nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))


class Generator(nn.Module):
    def __init__(self, p: Preset):
        super().__init__()
        self.slope = p.g_slope
        self.layers = _layers((p.noise_dim, *p.g_hidden, IMAGE))

    def forward(self, z):
        h = z
        for layer in self.layers[:-1]:
            h = F.leaky_relu(layer(h), self.slope, inplace=True)
        return torch.tanh(self.layers[-1](h))


class Discriminator(nn.Module):
    """Logits of 'real'. Dropout is drawn from `generator`, so training owns its random stream."""

    def __init__(self, p: Preset):
        super().__init__()
        self.slope, self.dropout = p.d_slope, p.dropout
        self.layers = _layers((IMAGE, *p.d_hidden, 1))

    def forward(self, x, generator: torch.Generator | None = None):
        h = x
        for layer in self.layers[:-1]:
            h = F.leaky_relu(layer(h), self.slope)
            if self.dropout > 0:
                h = h * self._mask(h, generator)
        return self.layers[-1](h)

    def _mask(self, h, generator):
        """Dropout's mask, already scaled: 1/(1-p) where a unit is kept, else 0. Each unit gets 31
        random bits, two units per 64-bit draw (the generator is serial on a CPU, and this halves
        its calls compared with torch.rand), so P(keep) = 1 - p to within 2^-32."""
        with torch.no_grad():
            n = h.numel()
            words = torch.empty((n + 1) // 2, dtype=torch.int64, device=h.device).random_(generator=generator)
            bits = words.view(torch.int32)[:n].view(h.shape).bitwise_and_(0x7FFFFFFF)  # uniform on [0, 2^31)
            keep = bits.ge_(round(self.dropout * 2 ** 31))
            return keep.to(h.dtype).mul_(1.0 / (1.0 - self.dropout))


def describe(preset: str) -> dict:
    """The architecture in numbers, for the report: layer sizes and parameter counts."""
    p = PRESETS[preset]
    g, d = (p.noise_dim, *p.g_hidden, IMAGE), (IMAGE, *p.d_hidden, 1)

    def count(sizes):
        return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
    return {"preset": preset, "noise_dim": p.noise_dim, "g_sizes": list(g), "d_sizes": list(d),
            "g_slope": p.g_slope, "d_slope": p.d_slope, "dropout": p.dropout,
            "g_params": count(g), "d_params": count(d)}


def build(preset: str, seed: int, device="cpu"):
    """G and D with PyTorch's default Linear initialisation, drawn from `seed` (the global
    random state is left untouched), so every experiment starts from the same weights."""
    p = PRESETS[preset]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        G, D = Generator(p), Discriminator(p)
    return G.to(device), D.to(device)
