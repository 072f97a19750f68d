import copy

import torch

from ganlearn.config import Config, ModelConfig
from ganlearn.models import build_models
from ganlearn.steps import Batch, feature_matching_g_step, ssl_d_step, update


def setup():
    torch.manual_seed(0)
    G, D = build_models(ModelConfig(d_hidden=[32, 16], g_hidden=[32]), (1, 8, 8), 3)
    opt_g, opt_d = torch.optim.Adam(G.parameters(), 1e-2), torch.optim.Adam(D.parameters(), 1e-2)
    batch = Batch(
        torch.rand(6, 1, 8, 8), torch.tensor([0, 1, 2, 0, 1, 2]), torch.rand(8, 1, 8, 8), torch.rand(8, 1, 8, 8)
    )
    return G, D, opt_g, opt_d, batch


def params(net):
    return [p.detach().clone() for p in net.parameters()]


def same(a, b):
    return all(torch.equal(x, y) for x, y in zip(a, b))


def test_d_step_leaves_the_generator_unchanged():
    G, D, opt_g, opt_d, batch = setup()
    g_before, d_before = params(G), params(D)
    loss, stats = ssl_d_step(G, D, batch, Config())
    update(opt_d, loss, D)
    assert set(stats) == {"loss_lab", "loss_unl", "train_acc"}
    assert same(params(G), g_before) and not same(params(D), d_before)


def test_g_step_leaves_the_discriminator_unchanged():
    G, D, opt_g, opt_d, batch = setup()
    g_before, d_state = params(G), copy.deepcopy(D.state_dict())
    loss, stats = feature_matching_g_step(G, D, batch, Config())
    update(opt_g, loss, G)
    assert stats["loss_gen"] >= 0
    assert all(torch.equal(v, D.state_dict()[k]) for k, v in d_state.items())
    assert all(p.grad is None for p in D.parameters())  # not even gradients were computed for D
    assert all(p.requires_grad for p in D.parameters())  # and D is trainable again afterwards
    assert not same(params(G), g_before)


def test_bf16_steps_give_the_fp32_losses_for_the_same_random_numbers():
    """The bf16 path (activations kept in bf16 between layers) computes what fp32 does, to bf16 tolerance."""
    G, D, *_, batch = setup()
    losses = {}
    for dtype in (torch.float32, torch.bfloat16):
        torch.manual_seed(1)  # the same generated images and the same noise in D for both
        with torch.autocast("cpu", dtype=dtype, enabled=dtype != torch.float32):
            d_loss, _ = ssl_d_step(G, D, batch, Config())
            g_loss, _ = feature_matching_g_step(G, D, batch, Config())
        losses[dtype] = torch.stack([d_loss, g_loss])
    torch.testing.assert_close(losses[torch.bfloat16], losses[torch.float32], rtol=3e-2, atol=3e-3)
    assert not torch.equal(losses[torch.bfloat16], losses[torch.float32])  # bf16 did run


def test_steps_under_bf16_autocast_give_fp32_losses_and_learn():
    G, D, opt_g, opt_d, batch = setup()
    d_before = params(D)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        d_loss, d_stats = ssl_d_step(G, D, batch, Config())
        update(opt_d, d_loss, D)
        g_loss, g_stats = feature_matching_g_step(G, D, batch, Config())
        update(opt_g, g_loss, G)
    assert all(v.dtype == torch.float32 and torch.isfinite(v) for v in (*d_stats.values(), *g_stats.values()))
    assert all(p.dtype == torch.float32 for p in (*G.parameters(), *D.parameters()))  # weights stay fp32
    assert not same(params(D), d_before)
