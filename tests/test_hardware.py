import pytest
import torch

from ganlearn.config import load
from ganlearn.errors import ConfigError
from ganlearn.hardware import autocast, cpu_has_native_bf16, cpu_name, fork_rng, keep_freed_memory, resolve_precision


def test_precision_names():
    cpu = torch.device("cpu")
    assert resolve_precision("fp32", cpu) == torch.float32
    assert resolve_precision("bf16", cpu) == torch.bfloat16
    assert resolve_precision("auto", cpu) == (torch.bfloat16 if cpu_has_native_bf16() else torch.float32)
    # on CUDA the small nets are launch-bound and bf16's casts cost more than they save
    assert resolve_precision("auto", torch.device("cuda")) == torch.float32
    assert resolve_precision("bf16", torch.device("cuda")) == torch.bfloat16


def test_autocast_only_below_fp32():
    a = torch.randn(4, 8)
    with autocast(torch.device("cpu"), torch.float32):
        assert (a @ a.T).dtype == torch.float32
    with autocast(torch.device("cpu"), torch.bfloat16):
        assert (a @ a.T).dtype == torch.bfloat16


def test_keep_freed_memory_is_harmless():
    keep_freed_memory()
    assert torch.ones(1 << 20).sum() == 1 << 20  # large allocations still work


def test_unknown_precision_is_a_config_error():
    with pytest.raises(ConfigError, match="train.precision"):
        load("mnist_ssl", ["train.precision=fp16"])


def test_fork_rng_forks_the_cuda_generator_only_for_a_cuda_device(monkeypatch):
    forked = []
    monkeypatch.setattr(torch.random, "fork_rng", lambda devices: forked.append(devices))
    for name in ("cpu", "cuda:1"):
        fork_rng(torch.device(name))
    assert forked == [[], [torch.device("cuda:1")]]
    monkeypatch.undo()
    state = torch.get_rng_state()
    with fork_rng(torch.device("cpu")):
        torch.rand(3)
    assert torch.equal(torch.get_rng_state(), state)


def test_cpu_name_names_the_processor_for_benchmark_records():
    name = cpu_name()
    assert isinstance(name, str) and name.strip() == name and name
