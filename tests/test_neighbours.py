"""The neighbour term's pixel-space graph and the pairs training draws from it (its effect on D: test_steps.py)."""
import pytest
import torch

from ganlearn import config
from ganlearn.data import load_digits
from ganlearn.iteration import epoch_orders
from ganlearn.neighbours import nearest_neighbours
from ganlearn.trainer import build


def test_nearest_neighbours_are_the_brute_force_ones_without_the_image_itself():
    torch.manual_seed(0)
    x = torch.randn(300, 1, 4, 4)
    distances = torch.cdist(x.flatten(1), x.flatten(1)).fill_diagonal_(float("inf"))
    expected = distances.topk(4, largest=False).indices
    assert torch.equal(nearest_neighbours(x, 4, chunk=64), expected)  # chunks that do not divide N
    duplicate = torch.cat([x[:1], x[:1], x[1:5]])  # an image and its exact copy are each other's nearest
    assert nearest_neighbours(duplicate, 1)[:2, 0].tolist() == [1, 0]
    with pytest.raises(ValueError, match="k must be in"):
        nearest_neighbours(x, 300)


def test_each_unlabelled_image_is_paired_with_one_of_its_neighbours_and_nothing_else_changes():
    data = load_digits()
    overrides = ["train.progress=false", "train.score_samples=0", "data.val_per_class=5"]
    plain = build(config.load("digits_ssl", overrides)[0], data)
    t = build(config.load("digits_ssl", [*overrides, "train.neighbour_weight=1", "train.neighbour_k=3"])[0], data)
    assert plain.neighbours is None and t.neighbours.shape == (len(t.unlabelled), 3)
    assert not set(t.split.val.tolist()) & set(t.unlabelled[t.neighbours].flatten().tolist())  # no validation image
    *orders, nbr = epoch_orders(t, 0)
    *plain_orders, plain_nbr = epoch_orders(plain, 0)
    assert all(torch.equal(a, b) for a, b in zip(orders, plain_orders)) and len(plain_nbr) == 0
    position = {int(i): p for p, i in enumerate(t.unlabelled)}  # training index -> row of the graph
    unl = orders[1]
    assert nbr.shape == unl.shape
    rows = t.unlabelled[t.neighbours[[position[int(i)] for i in unl.flatten()]]]  # (iters * B, 3)
    assert (rows == nbr.flatten()[:, None]).any(1).all()
    assert len(set((rows == nbr.flatten()[:, None]).int().argmax(1).tolist())) == 3  # every rank is drawn

