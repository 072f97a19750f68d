import pytest
import torch

from ganlearn.config import ModelConfig
from ganlearn.errors import ConfigError
from ganlearn.models import MODELS, build_models
from ganlearn.models.gan import WNLinear, _RowScale, data_dependent_init


@pytest.mark.parametrize(
    "name", [name for name in MODELS if MODELS[name].kind == "images"]
)  # unet: test_segmentation.py
@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 32), (1, 64, 64), (1, 8, 8)])
def test_shapes_and_feature_head_split(name, shape):
    cfg = ModelConfig(name=name, width=8, d_hidden=[32, 16], g_hidden=[32])
    G, D = build_models(cfg, shape, 10)
    z = G.sample_z(5)
    assert z.shape == (5, cfg.z_dim) and 0 <= z.min() and z.max() <= 1
    x = G(z)
    assert x.shape == (5, *shape) and 0 <= x.min() and x.max() <= 1
    D.eval()
    h = D.features(x)
    assert h.ndim == 2 and len(h) == 5
    assert torch.equal(D.head(h), D(x)) and D(x).shape == (5, 10)


def test_improved_gan_mnist_pair_has_the_reference_sizes():
    G, D = build_models(ModelConfig(), (1, 28, 28), 10)
    widths = [m.v.shape for m in D.modules() if isinstance(m, WNLinear)]
    assert widths == [(1000, 784), (500, 1000), (250, 500), (250, 250), (250, 250), (10, 250)]
    assert D.features(torch.rand(2, 1, 28, 28)).shape == (2, 250)
    assert sum(isinstance(m, torch.nn.BatchNorm1d) for m in G.modules()) == 2  # shift-only, as in the reference


def test_data_dependent_init_normalises_preactivations():
    layer = WNLinear(20, 7)
    x = torch.randn(500, 20) * 3 + 1
    data_dependent_init(layer, x)
    out = layer(x)
    assert torch.allclose(out.mean(0), torch.zeros(7), atol=1e-4)
    assert torch.allclose(out.std(0, unbiased=False), torch.ones(7), atol=1e-3)


def test_noise_only_in_training_mode():
    _, D = build_models(ModelConfig(d_hidden=[16]), (1, 8, 8), 3)
    x = torch.rand(4, 1, 8, 8)
    D.train()
    assert not torch.equal(D(x), D(x))
    D.eval()
    assert torch.equal(D(x), D(x))


def test_bad_model_settings():
    with pytest.raises(ConfigError, match="unknown model 'resnet'"):
        build_models(ModelConfig(name="resnet"), (1, 28, 28), 10)
    with pytest.raises(ConfigError, match="square"):
        build_models(ModelConfig(name="dcgan"), (1, 28, 32), 10)
    with pytest.raises(ConfigError, match="divisible by 2"):
        build_models(ModelConfig(name="dcgan"), (1, 7, 7), 10)


def test_weight_norm_layer_equals_its_definition_and_has_the_right_gradient():
    torch.manual_seed(0)
    layer = WNLinear(6, 4, train_scale=True).double()
    with torch.no_grad():
        layer.g.uniform_(0.5, 2)
    x = torch.randn(5, 6, dtype=torch.double)
    weight = layer.v * (layer.g / layer.v.norm(dim=1)).unsqueeze(1)  # y = x (g v / ||v||)^T + b
    assert torch.allclose(layer(x), x @ weight.T + layer.b)
    # the hand-written backward of the row scale against finite differences
    assert torch.autograd.gradcheck(
        lambda v, g: torch.nn.functional.linear(x, v) * _RowScale.apply(v, g),
        (layer.v.detach().requires_grad_(), layer.g.detach().requires_grad_()),
    )
