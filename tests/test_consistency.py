"""FixMatch's consistency term: the loss, mode fixmatch (the non-GAN self-training method) and the
term added to the K+1 discriminator (mode ssl), with the cnn pair, the labelled batch size and SGD."""

import pytest
import torch
import torch.nn.functional as F

from ganlearn import config
from ganlearn.data import load_digits
from ganlearn.errors import ConfigError
from ganlearn.losses import pseudo_label_loss
from ganlearn.train import build, fit
from ganlearn.train.schedule import epoch_orders

SMALL = ["train.progress=false", "model.name=cnn", "model.width=8", "model.depth=2", "train.epochs=3"]
FIXMATCH = ["train.mode=fixmatch", "consistency.threshold=0.9", "train.augment_shift=1"]


def test_the_term_is_cross_entropy_on_the_confident_weak_views_only():
    weak = torch.tensor([[4.0, 0, 0], [0, 0.1, 0], [0, 0, 9]])  # confident, unsure, confident
    strong = torch.randn(3, 3)
    expected = (F.cross_entropy(strong[[0, 2]], torch.tensor([0, 2]), reduction="sum")) / 3
    assert torch.allclose(pseudo_label_loss(strong, weak, 0.9), expected)
    assert pseudo_label_loss(strong, weak, 0.99999) == 0


def test_the_term_trains_the_strong_view_only():
    weak, strong = torch.randn(4, 3, requires_grad=True), torch.randn(4, 3, requires_grad=True)
    pseudo_label_loss(strong, 5 * weak, 0.5).backward()
    assert weak.grad is None and strong.grad.abs().sum() > 0


@pytest.mark.parametrize(
    "overrides, message",
    [
        (["train.mode=fixmatch"], "set consistency.threshold"),
        (["train.mode=fixmatch", "consistency.threshold=1.5"], r"consistency.threshold must be in \(0, 1\)"),
        (["train.mode=supervised", "consistency.threshold=0.9"], "not used in mode supervised"),
        (["train.mode=gan", "train.labelled_batch_size=8"], "not used in mode gan"),
        (["train.optimizer=rmsprop"], "must be one of adam, sgd"),
        (["data.dataset=folder", "data.path=x", "data.max_image_size=3"], "data.max_image_size must be at least 4"),
    ],
)
def test_bad_settings_are_refused(overrides, message):
    with pytest.raises(ConfigError, match=message):
        config.load("digits_ssl", overrides)


def test_labelled_batches_have_their_own_size_and_sgd_is_nesterov():
    cfg, _ = config.load("digits_ssl", SMALL + FIXMATCH + ["train.labelled_batch_size=20", "train.optimizer=sgd"])
    t = build(cfg, load_digits())
    lab, unl, _, _ = epoch_orders(t, 0)
    assert lab.shape == (t.iters_per_epoch, 20) and unl.shape == (t.iters_per_epoch, cfg.train.batch_size)
    assert isinstance(t.opt_d, torch.optim.SGD) and t.opt_d.defaults["nesterov"]
    assert isinstance(t.opt_g, torch.optim.Adam)


def test_fixmatch_learns_and_trusts_more_unlabelled_images_as_it_goes():
    """8x8 digits, 2 labels a class: the unlabelled images whose weak view D is confident of, the targets
    of their strong views, grow from a few to a large share, and D classifies most test digits (chance:
    10 %). Its gain over the labels alone needs longer runs than a test's: bench/own_images.py."""
    overrides = ["data.labels_per_class=2", "train.epochs=10", "consistency.threshold=0.7"]
    cfg, _ = config.load("digits_ssl", SMALL + FIXMATCH + overrides)
    records = fit(build(cfg, load_digits()), verbose=False)
    assert records[0]["confident"] < 0.15 and records[-1]["confident"] > 0.3
    assert records[-1]["loss_cons"] > 0 and records[-1]["test_acc"] > 0.6


def test_the_k_plus_1_discriminator_takes_the_term_too():
    cfg, _ = config.load("digits_ssl", SMALL + ["consistency.threshold=0.9", "train.augment_shift=1"])
    records = fit(build(cfg, load_digits()), verbose=False)
    assert {"loss_unl", "loss_gen", "loss_cons", "confident"} <= set(records[-1])
    assert records[-1]["confident"] > records[0]["confident"] and records[-1]["test_acc"] > 0.6
