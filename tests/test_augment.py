"""Random shifts, flips and strong views of training images: what they do to an image, and where
training uses them."""

import pytest
import torch

from ganlearn import config
from ganlearn.data import load_digits
from ganlearn.data.augment import _affine, _colour_ops, cutout, random_shift, strong_augment, weak_augment
from ganlearn.errors import ConfigError
from ganlearn.steps import Batch
from ganlearn.train import build, fit
from ganlearn.train import loop as train
from ganlearn.train.loop import train_iteration
from ganlearn.train.runlog import RunLog
from ganlearn.train.schedule import epoch_orders


def centroid(x: torch.Tensor) -> torch.Tensor:
    """(B, 1, H, W) -> (B, 2) ink-weighted (row, column) centre of each image."""
    h, w = x.shape[-2:]
    rows, cols = torch.arange(h, dtype=x.dtype), torch.arange(w, dtype=x.dtype)
    mass = x.sum((1, 2, 3))
    return torch.stack([(x.sum((1, 3)) * rows).sum(1) / mass, (x.sum((1, 2)) * cols).sum(1) / mass], 1)


def test_nothing_to_do_returns_the_images_untouched():
    x = torch.rand(4, 1, 8, 8)
    assert random_shift(x, 0) is x


def test_shifts_stay_within_the_limit_and_go_both_ways():
    x = torch.zeros(200, 1, 28, 28)
    x[:, :, 12:16, 12:16] = 1  # a centred square, far from the border
    torch.manual_seed(0)
    out = random_shift(x, 3)
    moved = centroid(out) - centroid(x)  # (B, 2) in pixels
    assert moved.abs().max() <= 3 + 1e-3
    assert (moved > 2).any(0).all() and (moved < -2).any(0).all()  # up and down, left and right
    assert out.sum((1, 2, 3)) == pytest.approx(x.sum((1, 2, 3)), rel=1e-4)  # no ink lost or made


def test_the_written_out_grid_is_affine_grids():
    """random_shift builds grid_sample's grid itself (for speed): it must be F.affine_grid's for the
    same draws (x, then y shifts), on a non-square image."""
    x = torch.rand(8, 1, 12, 20)
    torch.manual_seed(0)
    moved = random_shift(x, 2.5)
    torch.manual_seed(0)
    dx, dy = (2 * torch.rand(8) - 1 for _ in range(2))
    one, zero = torch.ones(8), torch.zeros(8)
    theta = torch.stack([torch.stack([one, zero, dx * 5 / 20], 1), torch.stack([zero, one, dy * 5 / 12], 1)], 1)
    grid = torch.nn.functional.affine_grid(theta, list(x.shape), align_corners=False)  # (B, H, W, 2)
    expected = torch.nn.functional.grid_sample(x, grid, padding_mode="border", align_corners=False)
    assert torch.allclose(moved, expected, atol=1e-5)


def test_the_same_seed_gives_the_same_moves():
    x = torch.rand(5, 1, 28, 28)
    torch.manual_seed(3)
    first = random_shift(x, 2)
    torch.manual_seed(3)
    assert torch.equal(random_shift(x, 2), first) and not torch.equal(first, x)


def first_batch(*overrides: str) -> tuple[tuple, tuple, object]:
    """The arguments of the first iteration's Batch, the epoch's orders and the Training."""
    cfg, _ = config.load("digits_ssl", ["train.progress=false", *overrides])
    t = build(cfg, load_digits())
    orders, seen = epoch_orders(t, 0), []

    def recording_batch(*args, **kwargs):
        seen.append(args)
        return Batch(*args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(train, "Batch", recording_batch)
        train_iteration(t, orders, 0)
    return seen[0], orders, t


def test_training_moves_the_labelled_images_only():
    """The D step sees moved labelled images; its unlabelled batches are the stored images."""
    (x_lab, y_lab, x_unl, x_unl2), (lab, unl, unl2, _), t = first_batch("train.augment_shift=1")
    assert not torch.equal(x_lab, t.x_train[lab[0]]) and torch.equal(y_lab, t.y_train[lab[0]])
    assert torch.equal(x_unl, t.x_train[unl[0]]) and torch.equal(x_unl2, t.x_train[unl2[0]])


def test_augment_unlabelled_moves_both_unlabelled_batches_too():
    (x_lab, _, x_unl, x_unl2), (lab, unl, unl2, _), t = first_batch(
        "train.augment_shift=1", "train.augment_unlabelled=true"
    )
    assert not torch.equal(x_lab, t.x_train[lab[0]])
    assert not torch.equal(x_unl, t.x_train[unl[0]]) and not torch.equal(x_unl2, t.x_train[unl2[0]])


def test_moving_the_labels_helps_the_labels_only_classifier():
    """On the 8x8 digits with 5 labels per class, the same D trained on its 50 labels alone does
    better on the test set when each labelled image is moved afresh whenever it is drawn."""
    data, accuracy = load_digits(), {}
    for name, moves in (("plain", []), ("moved", ["train.augment_shift=1"])):
        accs = []
        for seed in (1, 2):
            cfg, _ = config.load(
                "digits_ssl", ["train.progress=false", "train.mode=supervised", f"train.seed={seed}", *moves]
            )
            accs.append(fit(build(cfg, data), RunLog(None), verbose=False)[-1]["test_acc"])
        accuracy[name] = sum(accs) / len(accs)
    assert accuracy["moved"] > accuracy["plain"] + 0.01, accuracy


@pytest.mark.parametrize(
    "overrides, message",
    [
        (["train.augment_shift=-1"], "must be >= 0"),
        (["train.mode=gan", "train.augment_shift=2"], "train.augment_shift is not used in mode gan"),
        (["train.augment_unlabelled=true"], "set train.augment_shift too"),
        (
            ["train.mode=supervised", "train.augment_shift=2", "train.augment_unlabelled=true"],
            "train.augment_unlabelled is not used in mode supervised",
        ),
    ],
)
def test_bad_augmentation_settings_are_refused(overrides, message):
    with pytest.raises(ConfigError, match=message):
        config.load(None, overrides)


def test_flips_turn_about_half_the_images_and_nothing_else():
    x = torch.rand(400, 3, 6, 6)
    torch.manual_seed(0)
    out = weak_augment(x, 0, flip=True)
    flipped = (out == x.flip(3)).all((1, 2, 3))
    assert ((out == x).all((1, 2, 3)) | flipped).all() and 150 < flipped.sum() < 250
    assert weak_augment(x, 0, flip=False) is x


def test_cutout_greys_a_half_side_square_cut_by_the_border():
    x = torch.rand(64, 3, 28, 28)
    torch.manual_seed(0)
    grey = (cutout(x) == 0.5).all(1)  # (B, H, W)
    rows, cols = grey.any(2).sum(1), grey.any(1).sum(1)  # (B,) the square's height and width
    assert (grey.sum((1, 2)) == rows * cols).all() and rows.max() == cols.max() == 14 and rows.min() >= 7


def test_strong_views_stay_pictures_and_repeat_for_a_seed():
    x = torch.rand(64, 3, 28, 28)
    torch.manual_seed(0)
    out = strong_augment(x)
    assert out.shape == x.shape and out.min() >= 0 and out.max() <= 1
    assert ((out - x).abs().mean((1, 2, 3)) > 0.01).all()  # every picture changed
    torch.manual_seed(0)
    assert torch.equal(strong_augment(x), out)  # from torch's generator: a resumed run repeats it


def test_each_strong_operation_changes_a_picture_as_named():
    """Brightness at magnitude 0 darkens to 5 %, solarize at threshold 0 inverts, a 30-degree rotation
    keeps the ink's centre (a centred square), a shear of 0.3 moves a corner."""
    x = torch.zeros(1, 1, 21, 21)
    x[..., 8:13, 8:13] = 0.8
    zero = torch.zeros(1, 7)
    brightness, solarize = _colour_ops(x, zero)[1], _colour_ops(x, zero)[6]
    assert torch.allclose(brightness, 0.05 * x) and torch.allclose(solarize, 1 - x)
    rotated = _affine(x, torch.tensor([[1.0, 0, 0, 0, 0]]), torch.ones(1, 5))
    assert torch.allclose(centroid(rotated - 0.5 * (rotated == 0.5)), centroid(x), atol=0.2)
    assert not torch.allclose(rotated, x, atol=0.1)
