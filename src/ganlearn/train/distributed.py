"""Data-parallel training with PyTorch's own engine, launched by `torchrun --nproc_per_node=N`.

Each of the N processes (ranks) builds the same models from the same seed, takes its 1/N share of
every global batch (`shard`), and DistributedDataParallel averages the gradients, so the weights
stay identical on every rank. Rank 0 alone evaluates and writes the run folder. Without torchrun's
environment (RANK, WORLD_SIZE) everything here is a no-op and training is a single process.
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist

from ..errors import ConfigError


def world() -> tuple[int, int]:
    """(rank, number of processes): torchrun's, or (0, 1)."""
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))


def is_main() -> bool:
    return world()[0] == 0


def init(device: torch.device) -> torch.device:
    """Join the process group (gloo on CPU, nccl on CUDA) when launched by torchrun; on CUDA each
    rank takes the GPU of its LOCAL_RANK. Returns the device this rank trains on."""
    rank, size = world()
    if size == 1:
        return device
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return device


def close() -> None:
    """Leave the process group (a no-op in one process). Gloo's threads must stop before the process
    exits: left running, they can abort it at exit ("terminate called without an active exception")."""
    if dist.is_initialized():
        dist.destroy_process_group()


def check_batch(batch_size: int | None, key: str = "batch_size") -> None:
    size = world()[1]
    if batch_size is not None and batch_size % size:
        raise ConfigError(f"train.{key} {batch_size} must be divisible by the {size} processes")


def shard(orders: torch.Tensor) -> torch.Tensor:
    """This rank's columns of (iters, B) batch indices: (iters, B / N)."""
    rank, size = world()
    if size == 1 or orders.ndim < 2:
        return orders
    per = orders.shape[1] // size
    return orders[:, rank * per : (rank + 1) * per]


def wrap(step: torch.nn.Module | None, device: torch.device):
    """A step module (steps.StepLoss) under DistributedDataParallel when there are several processes."""
    if step is None or world()[1] == 1:
        return step
    from torch.nn.parallel import DistributedDataParallel

    return DistributedDataParallel(step, device_ids=[device.index] if device.type == "cuda" else None)


def broadcast(value):
    """Rank 0's value of a picklable object, on every rank."""
    if world()[1] == 1:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def any_rank(flag: bool, device: torch.device) -> bool:
    """Whether `flag` is true on any rank (a collective), so that every rank takes the same branch."""
    if world()[1] == 1:
        return flag
    value = torch.tensor([float(flag)], device=device)  # nccl reduces CUDA tensors only
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())


def gather_rng_states() -> list[torch.Tensor]:
    """Every rank's CPU generator state, in rank order (a collective: all ranks must call it)."""
    state = torch.get_rng_state()
    if world()[1] == 1:
        return [state]
    states = [None] * world()[1]
    dist.all_gather_object(states, state)
    return states
