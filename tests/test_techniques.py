import torch

from ganlearn.models.techniques import HistoricalAverage, MinibatchDiscrimination, VirtualBatchNorm, batch_dependent


def test_minibatch_discrimination_depends_on_the_other_samples():
    torch.manual_seed(0)
    layer = MinibatchDiscrimination(8, n_kernels=4, kernel_dim=3)
    h = torch.randn(5, 8)
    out = layer(h)
    assert out.shape == (5, 12) and torch.equal(out[:, :8], h)
    other = torch.cat([h[:1], torch.randn(4, 8)])
    assert not torch.allclose(layer(other)[0], out[0])  # same example, different batch-mates
    # a batch of identical examples is maximally "close": each kernel sums exp(0) over the 4 others
    same = layer(h[:1].repeat(5, 1))[:, 8:]
    assert torch.allclose(same, 4 + layer.bias.detach().expand(5, 4))


def test_virtual_batch_norm_output_does_not_depend_on_the_batch():
    torch.manual_seed(0)
    for shape in [(6,), (3, 4, 4)]:
        vbn = VirtualBatchNorm(shape[0], n_ref=16)
        ref, x = torch.randn(16, *shape) * 3 + 1, torch.randn(4, *shape)
        alone = vbn(torch.cat([ref, x[:1]]))[-1]
        in_batch = vbn(torch.cat([ref, x]))[16]
        assert torch.allclose(alone, in_batch, atol=1e-6)
        # and the reference batch itself comes out close to zero mean, unit variance per channel
        dims = [0] + list(range(2, len(shape) + 1))
        out_ref = vbn(torch.cat([ref, x]))[:16]
        assert out_ref.mean(dims).abs().max() < 0.2 and (out_ref.std(dims) - 1).abs().max() < 0.2


def test_historical_average_penalty_is_zero_at_the_running_mean():
    net = torch.nn.Linear(3, 2)
    hist = HistoricalAverage(net)
    assert hist.penalty(net) == 0
    first = [p.detach().clone() for p in net.parameters()]
    with torch.no_grad():
        for p in net.parameters():
            p.add_(1.0)
    hist.update(net)  # mean of the initial values and the shifted ones: initial + 0.5
    assert all(torch.allclose(m, p + 0.5) for m, p in zip(hist.means, first))
    expected = sum(0.25 * p.numel() for p in net.parameters())
    assert torch.isclose(hist.penalty(net), torch.tensor(expected))
    assert "count" in hist.state_dict() and hist.state_dict()["count"] == 1


def test_batch_dependent_nets():
    assert batch_dependent(torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.BatchNorm1d(2)))
    assert batch_dependent(MinibatchDiscrimination(2))
    assert not batch_dependent(torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.ReLU()))
