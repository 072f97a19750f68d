"""Where and how training runs: the device, the compute precision, the CPU allocator."""

from __future__ import annotations

import contextlib
import ctypes
import platform
from pathlib import Path

import torch

from .errors import ConfigError


def resolve_device(name: str) -> torch.device:
    """`auto` is CUDA when available, else the CPU; asking for CUDA without one is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("train.device is cuda, but no CUDA device is available")
    return torch.device(name)


def cpu_name() -> str:
    """The CPU's model name, for benchmark records: timings differ between machines of one kind."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return platform.processor() or platform.machine()
    return next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), platform.machine())


def cpu_has_native_bf16() -> bool:
    """Whether the CPU multiplies bf16 matrices in hardware (AVX512-BF16 or AMX); elsewhere bf16 is
    emulated and slow."""
    try:
        flags = Path("/proc/cpuinfo").read_text().split()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve_precision(name: str, device: torch.device) -> torch.dtype:
    """The autocast dtype of the training steps: `auto` is bf16 on a CPU that does it natively, else fp32.

    Not bf16 on CUDA: our 28x28 nets' steps are bound by kernel launches there, and autocast's casts
    add launches; on an H200 bf16 made the mnist_ssl step 43 % slower (docs/results.md).
    Ask for it by name.
    """
    if name == "bf16" or (name == "auto" and device.type == "cpu" and cpu_has_native_bf16()):
        return torch.bfloat16
    return torch.float32


def fork_rng(device: torch.device):
    """A block whose random draws leave the global streams as they were: the CPU generator's and, on
    CUDA, that device's (forking the CPU one alone would let the block move or reseed the CUDA one)."""
    return torch.random.fork_rng(devices=[device] if device.type == "cuda" else [])


def autocast(device: torch.device, dtype: torch.dtype, cache: bool = True):
    """Matrix products in `dtype` inside the block (parameters, optimizer state and losses stay fp32);
    `cache`: each weight cast once per block."""
    if dtype == torch.float32:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=dtype, cache_enabled=cache)


def keep_freed_memory() -> None:
    """Let glibc reuse freed large blocks instead of returning them to the OS.

    By default every tensor above the mmap threshold is a fresh mmap whose pages fault in on first
    touch: on a 2-core machine that costs ~10% of a training step (`git show b671230:docs/benchmarks.md`). The price
    is that the process keeps its peak memory until it exits, which suits a training process.
    """
    if platform.system() != "Linux":
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc (e.g. musl): leave the allocator alone
        return
    m_trim_threshold, m_mmap_threshold = -1, -3
    libc.mallopt(m_mmap_threshold, 1 << 30)
    libc.mallopt(m_trim_threshold, 1 << 30)
