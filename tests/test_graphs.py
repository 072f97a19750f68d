"""CUDA graphs (train.cuda_graphs): what a CPU can check — the captured iteration computes what the
plain one does, and runs that cannot be one fixed graph are refused in one line."""

from functools import partial

import pytest
import torch

from ganlearn import config, graphs, train
from ganlearn.data import load_digits
from ganlearn.errors import ConfigError
from ganlearn.runlog import RunLog
from ganlearn.schedule import ema_update

SHORT = ["train.progress=false", "train.epochs=1", "train.iters_per_epoch=7"]


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


def test_ema_update_reads_a_tensor_decay_as_it_reads_a_float():
    torch.manual_seed(0)
    net, ema_f = torch.nn.Linear(4, 3), torch.nn.Linear(4, 3)
    ema_t = torch.nn.Linear(4, 3)
    ema_t.load_state_dict(ema_f.state_dict())
    ema_update(ema_f, net, 0.9)
    ema_update(ema_t, net, torch.tensor(0.9))
    for a, b in zip(ema_f.parameters(), ema_t.parameters()):
        torch.testing.assert_close(a, b)


def test_captured_steps_train_the_weights_the_plain_steps_train():
    data = load_digits()
    cfg, _ = config.load("digits_ssl", SHORT)
    plain = train.build(cfg, data)
    train.fit(plain, RunLog(None), verbose=False)
    captured, counts = train.build(cfg, data), {"captures": 0, "replays": 0}
    captured.graph = graphs.CapturedSteps(
        partial(train.run_steps, captured),
        (captured.opt_d, captured.opt_g),
        captured.device,
        capture=eager_capture(counts),
    )
    train.fit(captured, RunLog(None), verbose=False)
    assert counts == {"captures": 1, "replays": 7 - graphs.WARMUP}
    for a, b in zip(
        (*plain.D.parameters(), *plain.G.parameters()), (*captured.D.parameters(), *captured.G.parameters())
    ):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    assert isinstance(captured.opt_d.param_groups[0]["lr"], torch.Tensor)  # what the graph reads, set in place


@pytest.mark.parametrize(
    "sets, device, message",
    [
        ([], "cpu", "needs train.device cuda"),
        (["train.pseudo_label_threshold=0.9"], "cuda", "pseudo-labelled batch"),
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
