"""Data-parallel training: 2 processes on CPU (gloo) launched by torchrun, against 1 process."""

import json
import os
import subprocess
import sys

import pytest
import torch

from ganlearn.checkpoint import load_checkpoint
from ganlearn.cli import main

COMMON = ["-c", "digits_ssl", "--no-progress", "--set", "train.epochs=2", "--set", "train.iters_per_epoch=10"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}
LIMIT = 1200  # seconds a launch may take: a slow CI machine has spent a minute per process importing torch


def launch(nproc: int, *train_args) -> subprocess.CompletedProcess:
    """`ganlearn train` in `nproc` processes under torchrun (1: plain python); fails the test on a non-zero exit."""
    launcher = (
        [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}"]
        if nproc > 1
        else [sys.executable]
    )
    result = subprocess.run(
        [*launcher, "-m", "ganlearn.cli", "train", *train_args], capture_output=True, text=True, env=ENV, timeout=LIMIT
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def train(nproc: int, out_dir, *args) -> subprocess.CompletedProcess:
    return launch(nproc, *COMMON, "--out-dir", str(out_dir), *args)


def test_two_processes_match_one_with_the_same_global_batch(tmp_path):
    """Where every loss is a mean over examples and nothing is random per example (mode supervised,
    no noise), averaging the two halves' gradients is the full batch's gradient: the weights agree to
    float rounding (the two ranks sum in another order)."""
    args = [
        "--mode",
        "supervised",
        "--set",
        "model.input_noise=0",
        "--set",
        "model.hidden_noise=0",
        "--set",
        "train.precision=fp32",
    ]  # bf16 rounds differently for a half batch
    train(1, tmp_path / "one", *args)
    train(2, tmp_path / "two", *args)
    one = load_checkpoint(tmp_path / "one" / "000-digits_ssl" / "checkpoint.pt")
    two = load_checkpoint(tmp_path / "two" / "000-digits_ssl" / "checkpoint.pt")
    assert one["step"] == two["step"] == 20
    for key, value in one["D"].items():
        torch.testing.assert_close(two["D"][key], value, rtol=1e-4, atol=1e-5)
    records = [
        json.loads(line) for line in (tmp_path / "two" / "000-digits_ssl" / "metrics.jsonl").read_text().splitlines()
    ]
    first = [
        json.loads(line) for line in (tmp_path / "one" / "000-digits_ssl" / "metrics.jsonl").read_text().splitlines()
    ]
    assert records[-1]["test_acc"] == pytest.approx(first[-1]["test_acc"], abs=0.01)


def test_semi_supervised_gan_under_torchrun_writes_once_and_resumes(tmp_path):
    result = train(2, tmp_path)
    assert result.stdout.count("run folder:") == 2  # rank 0's start and end lines; rank 1 prints nothing
    assert [p.name for p in tmp_path.iterdir()] == ["000-digits_ssl"]  # one folder, by rank 0
    run_dir = tmp_path / "000-digits_ssl"
    state = load_checkpoint(run_dir / "checkpoint.pt")
    assert len(state["rng_ranks"]) == 2 and not torch.equal(*state["rng_ranks"])  # each rank its own noise
    launch(2, "--no-progress", "--resume", str(run_dir), "--set", "train.epochs=3")
    assert load_checkpoint(run_dir / "checkpoint.pt")["epoch"] == 3
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in records] == [1, 2, 3] and all("test_acc" in r for r in records)


def test_a_global_batch_that_does_not_split_is_refused(tmp_path, monkeypatch, capsys):
    """Checked before the process joins the group, so one process with torchrun's WORLD_SIZE shows it."""
    monkeypatch.setenv("WORLD_SIZE", "2")
    code = main(["train", *COMMON, "--out-dir", str(tmp_path), "--set", "train.batch_size=49"])
    assert code == 2 and "must be divisible by the 2 processes" in capsys.readouterr().err


@pytest.mark.parametrize(
    "mode_args",
    [
        ["--mode", "gan", "--set", "model.minibatch_kernels=8"],  # a batch-dependent D: separate forwards
        [
            "-c",
            "mnist_seg",
            "--set",
            "data.train_canvases=64",
            "--set",
            "data.test_canvases=16",
            "--set",
            "data.canvas_size=48",
            "--set",
            "model.width=8",
            "--set",
            "train.batch_size=8",
            "--set",
            "data.label_rate=0.5",
        ],
    ],
    ids=["gan", "seg"],
)
def test_every_mode_trains_under_torchrun(tmp_path, mode_args, data_dir):
    args = mode_args + (["--data-dir", str(data_dir)] if "mnist_seg" in mode_args else [])
    train(2, tmp_path, *args)  # a second -c (mnist_seg) replaces COMMON's digits_ssl
    (run_dir,) = tmp_path.iterdir()
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in records] == [1, 2]
    assert ("test_miou" in records[-1]) == ("mnist_seg" in args)
