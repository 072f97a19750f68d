"""CUDA graphs (train.cuda_graphs): what a CPU can check — the captured iteration computes what the
plain one does, and runs that cannot be one fixed graph are refused in one line."""

import math
from functools import partial

import pytest
import torch

from ganlearn import config
from ganlearn.data import load_digits
from ganlearn.errors import ConfigError
from ganlearn.train import cuda_graphs as graphs
from ganlearn.train import loop as train
from ganlearn.train.runlog import RunLog
from ganlearn.train.schedule import ema_update, epoch_orders

# a decaying learning rate and an EMA warm-up: what the graph reads changes at every iteration
SHORT = ["train.progress=false", "train.epochs=1", "train.iters_per_epoch=7", "train.lr_decay_start=0.3"]


def eager_capture(counts):
    """A stand-in for cuda_capture: nothing runs at capture, each replay reruns the steps and rewrites
    the same statistics dict, as a CUDA graph rewrites its output tensors."""

    def capture(run):
        stats = {}
        counts["captures"] += 1

        def replay():
            counts["replays"] += 1
            stats.update(run())

        return replay, stats

    return capture


def captured(cfg, data):
    """A Training whose steps go through CapturedSteps with the eager stand-in; its capture counts."""
    t, counts = train.build(cfg, data), {"captures": 0, "replays": 0}
    t.graph = graphs.CapturedSteps(partial(train.run_steps, t), (t.opt_d, t.opt_g), t.device, eager_capture(counts))
    return t, counts


def test_ema_update_reads_a_tensor_rate_as_it_reads_a_float():
    torch.manual_seed(0)
    net, ema_f, ema_t = torch.nn.Linear(4, 3), torch.nn.Linear(4, 3), torch.nn.Linear(4, 3)
    ema_t.load_state_dict(ema_f.state_dict())
    ema_update(ema_f, net, 0.1)
    ema_update(ema_t, net, torch.tensor(0.1))
    for a, b in zip(ema_f.parameters(), ema_t.parameters()):
        torch.testing.assert_close(a, b)


# the images_ssl recipe's pieces: the cnn pair, SGD, the strong views of the consistency term; in fp32 here,
# as oneDNN's bf16 convolutions sum in another order when autocast caches the cast weights (no graph)
RECIPE = ["model.name=cnn", "model.width=8", "train.optimizer=sgd", "consistency.threshold=0.5"]
RECIPE += ["train.augment_shift=1", "train.precision=fp32"]


@pytest.mark.parametrize(
    "recipe", [[], RECIPE, [*RECIPE, "train.mode=fixmatch"]], ids=["kplus1", "ssl+cons", "fixmatch"]
)
def test_captured_steps_train_the_weights_the_plain_steps_train(recipe):
    data = load_digits()
    cfg, _ = config.load("digits_ssl", SHORT + recipe)
    plain = train.build(cfg, data)
    train.fit(plain, RunLog(None), verbose=False)
    t, counts = captured(cfg, data)
    train.fit(t, RunLog(None), verbose=False)
    assert counts == {"captures": 1, "replays": 7 - graphs.WARMUP}
    for net in ("D", "D_ema", "G"):
        for a, b in zip(getattr(plain, net).parameters(), getattr(t, net).parameters()):
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    assert isinstance(t.opt_d.param_groups[0]["lr"], torch.Tensor)  # what the graph reads, set in place


def test_loading_a_state_captures_again():
    """After a resume or a restart from the last good state the optimizers' state is new: a graph
    captured before would update tensors that are gone."""
    cfg, _ = config.load("digits_ssl", SHORT)
    t, counts = captured(cfg, load_digits())
    orders = epoch_orders(t, 0)
    for i in range(graphs.WARMUP + 1):
        train.train_iteration(t, orders, i)
    t.load_state(t.state())
    assert t.graph.replay is None and isinstance(t.opt_g.param_groups[0]["lr"], torch.Tensor)
    for i in range(graphs.WARMUP + 1):
        train.train_iteration(t, orders, i)
    assert counts == {"captures": 2, "replays": 2}


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
@pytest.mark.parametrize(
    "recipe", [[], RECIPE, [*RECIPE, "train.mode=fixmatch"]], ids=["kplus1", "ssl+cons", "fixmatch"]
)
def test_a_captured_run_trains_on_a_gpu(recipe):
    cfg, _ = config.load("digits_ssl", SHORT + recipe + ["train.device=cuda", "train.cuda_graphs=true"])
    t = train.build(cfg, load_digits())
    before = [p.detach().clone() for p in t.D.parameters()]
    orders = epoch_orders(t, 0)
    losses = [train.train_iteration(t, orders, i)["loss_lab"] for i in range(7)]
    assert t.graph.replay is not None and all(map(math.isfinite, losses))
    assert len(set(losses[graphs.WARMUP :])) > 1  # each replay rewrote the statistics
    assert all(not torch.equal(a, b) for a, b in zip(before, t.D.parameters()))


@pytest.mark.parametrize(
    "sets, device, message",
    [
        ([], "cpu", "it needs a GPU"),
        (["self_training.threshold=0.9"], "cuda", "pseudo-labelled batch"),
    ],
)
def test_runs_a_fixed_graph_cannot_hold_are_refused_in_one_line(sets, device, message):
    cfg, _ = config.load("digits_ssl", sets)
    with pytest.raises(ConfigError, match=message):
        graphs.check(cfg, torch.device(device))


def test_a_segmentation_run_is_refused_its_steps_change():
    cfg, _ = config.load("mnist_seg", [])
    with pytest.raises(ConfigError, match="mode seg's steps change"):
        graphs.check(cfg, torch.device("cuda"))
