"""ClusterGAN (Mukherjee et al. 2019): a generator whose latent is Gaussian noise plus a one-hot
category, and an encoder trained with it to recover both from the image.

The encoder is the pair's discriminator architecture without its noise, with `categories + z_dim`
outputs; it is a submodule of the generator, so G's optimizer, checkpoints and exports carry it.
Images are clustered by the encoder's category (`encode`), and inverted to a latent (`latent_of`) for
reconstruction-based anomaly scores.
"""

from __future__ import annotations

import dataclasses

import torch
import torch.nn as nn
import torch.nn.functional as F

NOISE_SD = 0.1  # sd of the continuous part, as in the paper: small, so the category decides the mode


class CategoricalGenerator(nn.Module):
    """z = [noise (z_dim) | one-hot category (categories)] -> images, and images -> (category logits, noise)."""

    def __init__(self, generator: nn.Module, encoder: nn.Module, categories: int):
        super().__init__()
        self.generator, self.encoder, self.categories = generator, encoder, categories
        self.z_dim = generator.z_dim
        self.noise_dim = self.z_dim - categories

    def sample_z(self, n: int, generator: torch.Generator | None = None, category: int | None = None):
        """(n, z_dim) latents: noise ~ N(0, NOISE_SD^2), the category uniform or the one given."""
        device = next(self.parameters()).device
        noise = NOISE_SD * torch.randn(n, self.noise_dim, device=device, generator=generator)
        if category is None:
            c = torch.randint(self.categories, (n,), device=device, generator=generator)
        else:
            c = torch.full((n,), category, device=device)
        return torch.cat([noise, F.one_hot(c, self.categories).to(noise.dtype)], 1)

    def split_z(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(noise (B, noise_dim), category (B,)) of latents from `sample_z`."""
        return z[:, : self.noise_dim], z[:, self.noise_dim :].argmax(1)

    def forward(self, z):  # (B, z_dim) -> (B, C, H, W)
        return self.generator(z)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(category logits (B, categories), noise (B, noise_dim)) the encoder reads from images x."""
        out = self.encoder(x).float()
        return out[:, : self.categories], out[:, self.categories :]

    def latent_of(self, x: torch.Tensor) -> torch.Tensor:
        """(B, z_dim) the latent of x as the generator takes it: the recovered noise and the softmax category."""
        logits, noise = self.encode(x)
        return torch.cat([noise, logits.softmax(1)], 1)


def categorical_pair(build, model_cfg, image_shape, n_outputs: int):
    """(CategoricalGenerator, D) from a pair builder of models.MODELS: G takes `z_dim + categories`
    inputs and the encoder is D's architecture without noise, with one output per latent dimension."""
    k = model_cfg.categories
    G, D = build(dataclasses.replace(model_cfg, z_dim=model_cfg.z_dim + k), image_shape, n_outputs)
    quiet = dataclasses.replace(model_cfg, input_noise=0.0, hidden_noise=0.0, minibatch_kernels=0)
    _, encoder = build(quiet, image_shape, k + model_cfg.z_dim)
    return CategoricalGenerator(G, encoder, k), D
