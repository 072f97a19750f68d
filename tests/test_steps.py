import copy

import torch

from ganlearn.config import ModelConfig, TrainConfig
from ganlearn.nets import build_models
from ganlearn.steps import Batch, feature_matching_g_step, ssl_d_step, update


def setup():
    torch.manual_seed(0)
    G, D = build_models(ModelConfig(d_hidden=[32, 16], g_hidden=[32]), (1, 8, 8), 3)
    opt_g, opt_d = torch.optim.Adam(G.parameters(), 1e-2), torch.optim.Adam(D.parameters(), 1e-2)
    batch = Batch(torch.rand(6, 1, 8, 8), torch.tensor([0, 1, 2, 0, 1, 2]), torch.rand(8, 1, 8, 8),
                  torch.rand(8, 1, 8, 8))
    return G, D, opt_g, opt_d, batch


def params(net):
    return [p.detach().clone() for p in net.parameters()]


def same(a, b):
    return all(torch.equal(x, y) for x, y in zip(a, b))


def test_d_step_leaves_the_generator_unchanged():
    G, D, opt_g, opt_d, batch = setup()
    g_before, d_before = params(G), params(D)
    loss, stats = ssl_d_step(G, D, batch, TrainConfig())
    update(opt_d, loss, D)
    assert set(stats) == {"loss_lab", "loss_unl", "train_acc"}
    assert same(params(G), g_before) and not same(params(D), d_before)


def test_g_step_leaves_the_discriminator_unchanged():
    G, D, opt_g, opt_d, batch = setup()
    g_before, d_state = params(G), copy.deepcopy(D.state_dict())
    loss, stats = feature_matching_g_step(G, D, batch, TrainConfig())
    update(opt_g, loss, G)
    assert stats["loss_gen"] >= 0
    assert all(torch.equal(v, D.state_dict()[k]) for k, v in d_state.items())
    assert all(p.grad is None for p in D.parameters())  # not even gradients were computed for D
    assert all(p.requires_grad for p in D.parameters())  # and D is trainable again afterwards
    assert not same(params(G), g_before)


def test_steps_under_bf16_autocast_give_fp32_losses_and_learn():
    G, D, opt_g, opt_d, batch = setup()
    d_before = params(D)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        d_loss, d_stats = ssl_d_step(G, D, batch, TrainConfig())
        update(opt_d, d_loss, D)
        g_loss, g_stats = feature_matching_g_step(G, D, batch, TrainConfig())
        update(opt_g, g_loss, G)
    assert all(v.dtype == torch.float32 and torch.isfinite(v) for v in (*d_stats.values(), *g_stats.values()))
    assert all(p.dtype == torch.float32 for p in (*G.parameters(), *D.parameters()))  # weights stay fp32
    assert not same(params(D), d_before)


def test_entropy_term_makes_d_confident_on_unlabelled_data():
    """With only the entropy term weighted up, D's class distribution on unlabelled images sharpens."""
    G, D, _, opt_d, batch = setup()
    cfg = TrainConfig(entropy_weight=10.0)
    _, first = ssl_d_step(G, D, batch, cfg)
    for _ in range(30):
        update(opt_d, *ssl_d_step(G, D, batch, cfg)[:1], D)
    _, last = ssl_d_step(G, D, batch, cfg)
    assert last["entropy_unl"] < 0.5 * first["entropy_unl"]
    assert "entropy_unl" not in ssl_d_step(G, D, batch, TrainConfig())[1]  # off by default


def test_manifold_term_makes_d_smooth_along_g():
    """The same D trained with and without the term: with it, D's logits change less between G(z) and
    G(z + eps d). D's noise is off for the term, so with eps -> 0 the two passes agree exactly."""
    measure = TrainConfig(manifold_weight=1.0, manifold_eps=2.0)
    change = {}
    for weight in (0.0, 100.0):
        G, D, _, opt_d, batch = setup()
        cfg = TrainConfig(manifold_weight=weight, manifold_eps=2.0)
        for _ in range(40):
            update(opt_d, *ssl_d_step(G, D, batch, cfg)[:1], D)
        change[weight] = sum(ssl_d_step(G, D, batch, measure)[1]["manifold"] for _ in range(5))
    assert change[100.0] < 0.5 * change[0.0]
    assert ssl_d_step(G, D, batch, TrainConfig(manifold_weight=1.0, manifold_eps=1e-6))[1]["manifold"] < 1e-6
    assert D.training  # the noiseless pass hands D back in training mode


def test_low_density_term_pushes_g_off_the_dense_regions():
    """The same G trained by feature matching with and without the penalty: with it, its images end
    up less dense under the model of real images, and the step reports the term."""
    from ganlearn.density import NeighbourDensity

    G = setup()[0]
    with torch.no_grad():  # "real" images where the untrained G's are: it starts in the dense region
        density = NeighbourDensity(G(G.sample_z(300, torch.Generator().manual_seed(0))))
    z = G.sample_z(64, torch.Generator().manual_seed(1))
    final = {}
    for weight in (0.0, 10.0):
        G, D, opt_g, _, batch = setup()
        batch.density = density if weight else None
        for _ in range(30):
            loss, stats = feature_matching_g_step(G, D, batch, TrainConfig(low_density_weight=weight))
            update(opt_g, loss, G)
        final[weight] = density.log_density(G(z)).mean().item()
        assert ({"low_density", "dense_fake"} <= set(stats)) == bool(weight)  # off: no such statistics
    assert final[10.0] < final[0.0] - 0.1


def test_mean_teacher_term_pulls_d_towards_its_teacher():
    """The same D trained with and without the term towards a fixed teacher: with it, D's class
    distribution on the unlabelled images ends closer to the teacher's. The teacher is left as it
    was: its weights, and its mode."""
    from ganlearn.losses import consistency_loss
    from ganlearn.steps import logits_in_mode

    teacher = setup()[1]
    torch.manual_seed(5)
    with torch.no_grad():
        for p in teacher.parameters():
            p.add_(torch.randn_like(p))  # a teacher unlike the student
    teacher.eval().requires_grad_(False)
    teacher_before = params(teacher)
    distance = {}
    for weight in (0.0, 30.0):
        G, D, _, opt_d, batch = setup()
        batch.teacher, batch.teacher_weight = teacher, weight
        for _ in range(30):
            loss, stats = ssl_d_step(G, D, batch, TrainConfig())
            update(opt_d, loss, D)
        assert ("consistency" in stats) == bool(weight)  # off: no such statistic
        distance[weight] = consistency_loss(*logits_in_mode(D, [batch.x_unl], noise=False),
                                            *logits_in_mode(teacher, [batch.x_unl], noise=False)).item()
    assert distance[30.0] < 0.5 * distance[0.0]
    assert same(params(teacher), teacher_before) and not teacher.training
