"""The networks: a registry of generator / discriminator pairs (MODELS) and what they output.

- gan.py: the MLP and DCGAN pairs (every D has `features(x) -> (B, F)` and `head(h) -> (B, K)`)
- convnet.py: the `cnn` pair's discriminator, sized for a CPU (its G is DCGAN's)
- unet.py: the U-Net segmenter and its fully convolutional adversary (mode seg)
- clustergan.py: a generator with a categorical latent and an encoder (mode cluster)
- techniques.py: minibatch discrimination, virtual batch norm, historical averaging
- outputs.py: what trained networks output (logits, probabilities, features, label maps, images)

Adding a model is one entry in MODELS: a builder `(model config, image shape, D's outputs) -> (G, D)`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch.nn as nn

from ..errors import ConfigError
from .clustergan import categorical_pair
from .convnet import ConvNetDiscriminator
from .gan import DCGANDiscriminator, DCGANGenerator, MLPDiscriminator, MLPGenerator
from .unet import build_unet


def _mlp(m, image_shape, n_classes):
    return (
        MLPGenerator(image_shape, m.z_dim, m.g_hidden, m.vbn_ref),
        MLPDiscriminator(image_shape, n_classes, m.d_hidden, m.input_noise, m.hidden_noise, m.minibatch_kernels),
    )


def _dcgan(m, image_shape, n_classes):
    return (
        DCGANGenerator(image_shape, m.z_dim, m.width, m.vbn_ref),
        DCGANDiscriminator(image_shape, n_classes, m.width, m.input_noise, m.minibatch_kernels),
    )


def _cnn(m, image_shape, n_classes):
    return (
        DCGANGenerator(image_shape, m.z_dim, m.width, m.vbn_ref),
        ConvNetDiscriminator(image_shape, n_classes, m.width, m.depth, m.input_noise, m.minibatch_kernels),
    )


class Pair(NamedTuple):
    build: Callable  # (model config, image shape, D's outputs) -> (G, D)
    kind: str  # "images": an image generator and a discriminator; "segmentation": a segmenter and its adversary
    channels_last: bool = False  # D trains on channels-last (NHWC) pictures: faster for its convolutions


# name -> how to build the pair; for unet (mode seg) G is the segmenter and D the adversary
MODELS = {
    "mlp": Pair(_mlp, "images"),
    "dcgan": Pair(_dcgan, "images"),
    "cnn": Pair(_cnn, "images", channels_last=True),  # a training step 25 % faster on 2 CPU cores
    "unet": Pair(build_unet, "segmentation"),
}


def build_models(model_cfg, image_shape, n_outputs: int) -> tuple[nn.Module, nn.Module]:
    """The (generator, discriminator) pair a ModelConfig names; D has `n_outputs` logits. With
    `model.categories` the generator is ClusterGAN's, with a categorical latent and an encoder."""
    if model_cfg.name not in MODELS:
        raise ConfigError(f"unknown model '{model_cfg.name}'; choose one of {', '.join(MODELS)}")
    build = MODELS[model_cfg.name].build
    if model_cfg.categories:
        return categorical_pair(build, model_cfg, tuple(image_shape), n_outputs)
    return build(model_cfg, tuple(image_shape), n_outputs)
