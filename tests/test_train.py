"""End-to-end: learning, resumption, and the CLI's handling of bad input."""

import io
import json
import math
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from ganlearn import config
from ganlearn.checkpoint import load_checkpoint
from ganlearn.cli import main
from ganlearn.data import load_dataset, load_digits
from ganlearn.errors import TrainingError
from ganlearn.modes import MODES
from ganlearn.train import build, fit
from ganlearn.train import loop as train
from ganlearn.train.runlog import RunLog

QUICK = ["train.progress=false"]


def test_gan_beats_labels_only_on_the_same_split_and_seed():
    data = load_digits()
    accuracy = {}
    for mode in ("ssl", "supervised"):
        cfg, _ = config.load("digits_ssl", QUICK + [f"train.mode={mode}"])
        t = build(cfg, data)
        accuracy[mode] = fit(t, RunLog(None), verbose=False)[-1]["test_acc"]
    assert accuracy["ssl"] > accuracy["supervised"] + 0.02, accuracy


def test_each_epoch_line_is_flushed_as_it_ends(monkeypatch):
    """A log redirected to a file (`nohup ... > log &`) shows each epoch as it ends, not at exit."""

    class Log(io.StringIO):
        flushed = ""

        def flush(self):
            self.flushed = self.getvalue()

    monkeypatch.setattr(sys, "stdout", Log())
    cfg, _ = config.load("digits_ssl", QUICK + ["train.epochs=2", "train.iters_per_epoch=5"])
    fit(build(cfg, load_digits()), RunLog(None), verbose=True)
    assert "epoch 1/2" in sys.stdout.flushed and "epoch 2/2" in sys.stdout.flushed


def run_cli(*args, **kwargs):
    return subprocess.run([sys.executable, "-m", "ganlearn.cli", *args], capture_output=True, text=True, **kwargs)


def test_kill_and_resume_continues_the_run(tmp_path):
    args = [
        "train",
        "-c",
        "digits_ssl",
        "--out-dir",
        str(tmp_path),
        "--no-progress",
        "--set",
        "train.checkpoint_every=5",
        "--set",
        "train.epochs=4",
        "--set",
        "train.iters_per_epoch=40",
    ]
    proc = subprocess.Popen(
        [sys.executable, "-m", "ganlearn.cli", *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    ckpt = tmp_path / "000-digits_ssl" / "checkpoint.pt"
    deadline = time.time() + 900  # a slow machine spends a minute importing torch
    while time.time() < deadline and not (ckpt.exists() and load_checkpoint(ckpt)["step"] >= 50):
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_at = load_checkpoint(ckpt)["step"]
    assert 50 <= killed_at < 160, "the run should have been killed mid-way"
    result = run_cli("train", "--resume", str(ckpt.parent), "--no-progress")
    assert result.returncode == 0, result.stderr
    assert f"step {killed_at}" in result.stdout
    final = load_checkpoint(ckpt)
    assert final["step"] == 4 * 40 and final["epoch"] == 4
    records = [json.loads(line) for line in (ckpt.parent / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in records] == [1, 2, 3, 4]
    assert all(math.isfinite(v) for r in records for v in r.values())

    # an uninterrupted run with the same seed ends with the same weights
    result = run_cli(*args)
    assert result.returncode == 0, result.stderr
    straight = load_checkpoint(tmp_path / "001-digits_ssl" / "checkpoint.pt")
    assert all(torch.equal(straight["D"][k], v) for k, v in final["D"].items())


def test_a_resumed_run_matches_a_straight_one_bit_for_bit(data_dir, monkeypatch, tmp_path):
    """Resumed in a fresh Training, as a new process would: the first evaluation there loads the
    FID-style scorer, which must not draw from training's random stream."""
    overrides = QUICK + [
        f"data.data_dir={data_dir}",
        "data.download=false",
        "train.epochs=4",
        "train.iters_per_epoch=5",
        "train.score_samples=100",
        "train.augment_shift=2",
    ]
    cfg, _ = config.load("mnist_ssl", overrides)
    data = load_dataset(cfg.data)
    saved = []
    monkeypatch.setattr(train, "save_checkpoint", lambda path, state: saved.append(state))
    straight = build(cfg, data)
    records = fit(straight, RunLog(tmp_path), verbose=False)  # its checkpoints kept in `saved`
    assert all(math.isfinite(r["fid"]) for r in records)
    resumed = build(cfg, data)
    resumed.load_state(saved[1])  # the checkpoint after epoch 2
    fit(resumed, RunLog(None), verbose=False)
    for net in ("G", "D", "D_ema"):
        a, b = getattr(straight, net).state_dict(), getattr(resumed, net).state_dict()
        assert all(torch.equal(a[k], b[k]) for k in a), f"{net} differs after resuming"


def test_resuming_with_another_thread_count_says_it_will_not_repeat_exactly(tmp_path, capsys):
    def cfg(epochs):
        return config.load(
            "digits_ssl", QUICK + ["train.iters_per_epoch=2", f"train.epochs={epochs}", f"train.out_dir={tmp_path}"]
        )[0]

    threads = torch.get_num_threads()
    torch.set_num_threads(threads + 1)
    try:
        run_dir = train.run(cfg(1), "t")
    finally:
        torch.set_num_threads(threads)
    train.run(cfg(2), "t", resume=run_dir)
    assert f"saved with {threads + 1} CPU threads and resumes with {threads}" in capsys.readouterr().out
    train.run(cfg(3), "t", resume=run_dir)  # saved with as many threads as it resumes with: no warning
    assert "CPU threads" not in capsys.readouterr().out


def test_evaluate_and_sample_commands(tmp_path, capsys):
    assert main(["train", "-c", "digits_ssl", "--out-dir", str(tmp_path), "--no-progress", "--epochs", "1"]) == 0
    run_dir = tmp_path / "000-digits_ssl"
    for name in ("config.yaml", "metrics.jsonl", "curves.png", "samples.png", "checkpoint.pt"):
        assert (run_dir / name).is_file(), name
    assert any((run_dir / "tb").iterdir())
    assert main(["evaluate", str(run_dir)]) == 0
    report = json.loads((run_dir / "evaluation.json").read_text())
    assert np.sum(report["confusion"]) == 360 and 0.5 < report["test_acc"] <= 1
    assert (run_dir / "confusion.png").is_file()
    assert main(["sample", str(run_dir), "-n", "16", "-o", str(tmp_path / "s.png")]) == 0
    assert (tmp_path / "s.png").is_file()


def bad_npz(tmp_path, labels_fn):
    x = np.random.default_rng(0).integers(0, 256, (40, 8, 8), dtype=np.uint8)
    path = tmp_path / "d.npz"
    np.savez(path, x_train=x, y_train=labels_fn(np.repeat(np.arange(4), 10)))
    return str(path)


BAD_INPUT = {
    "missing data dir": (
        lambda p: ["-c", "mnist_ssl", "--data-dir", str(p / "nowhere")],
        "data directory does not exist",
    ),
    "corrupt gz": (lambda p: ["-c", "mnist_ssl", "--data-dir", str(corrupt_mnist(p))], "corrupt gzip"),
    "length mismatch": (
        lambda p: ["--set", "data.dataset=npz", "--set", f"data.path={bad_npz(p, lambda y: y[:-3])}"],
        "40 training images but 37 labels",
    ),
    "label out of range": (
        lambda p: ["--set", "data.dataset=npz", "--set", f"data.path={bad_npz(p, lambda y: np.where(y == 3, -2, y))}"],
        "found -2",
    ),
    "too many labels": (lambda p: ["-c", "digits_ssl", "--labels-per-class", "500"], "only"),
    "unknown config key": (
        lambda p: ["-c", "digits_ssl", "--set", "train.learning_rate=0.1"],
        "unknown config key 'train.learning_rate'",
    ),
    "missing config": (lambda p: ["-c", str(p / "none.yaml")], "config file not found"),
    "cuda graphs on a cpu": (
        lambda p: ["-c", "digits_ssl", "--set", "train.device=cpu", "--set", "train.cuda_graphs=true"],
        "train.cuda_graphs: it needs a GPU",
    ),
    "resume a missing run": (lambda p: ["--resume", str(p / "none")], "not a run folder"),
}


def corrupt_mnist(tmp_path):
    folder = tmp_path / "mnist"
    folder.mkdir()
    for name in (
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    ):
        (folder / name).write_bytes(b"\x1f\x8b\x08\x00" + b"garbage" * 10)
    return tmp_path


@pytest.mark.parametrize("case", BAD_INPUT)
def test_bad_input_gives_one_clear_line_and_nonzero_exit(tmp_path, capsys, case):
    make_args, message = BAD_INPUT[case]
    code = main(["train", "--out-dir", str(tmp_path / "runs"), "--no-progress", "--no-download", *make_args(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and err.startswith("ganlearn: error:") and message in err, err


def test_real_exit_status_and_no_traceback(tmp_path):
    result = run_cli("train", "-c", "digits_ssl", "--set", "train.epoch=1")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "did you mean 'train.epochs'" in result.stderr
    result = run_cli("evaluate", str(tmp_path / "no-run"))
    assert (
        result.returncode == 2
        and result.stderr.strip() == f"ganlearn: error: run folder does not exist: {tmp_path / 'no-run'}"
    )


def test_non_finite_loss_stops_with_a_clear_error():
    cfg, _ = config.load("digits_ssl", QUICK + ["train.lr=1e30", "train.epochs=3"])
    t = build(cfg, load_digits())
    with pytest.raises(TrainingError, match="non-finite .* gave up after 3 restarts"):
        fit(t, RunLog(None), verbose=False)


def _inject_nan(monkeypatch, at_steps):
    """Make the D step report a NaN loss at the given (0-based) steps."""
    real_steps_for = train.steps_for

    def steps_for(cfg):
        d_step, g_step = real_steps_for(cfg)

        def poisoned(G, D, *args):
            loss, stats = d_step(G, D, *args)
            steps_for.calls += 1
            return loss, stats | ({"loss_lab": torch.tensor(float("nan"))} if steps_for.calls - 1 in at_steps else {})

        return poisoned, g_step

    steps_for.calls = 0
    monkeypatch.setattr(train, "steps_for", steps_for)


def test_a_nan_restarts_from_the_last_good_state_with_half_the_learning_rate(monkeypatch):
    cfg, _ = config.load("digits_ssl", QUICK + ["train.epochs=3", "train.iters_per_epoch=10"])
    _inject_nan(monkeypatch, at_steps={15})  # in epoch 2: back to the end of epoch 1
    t = build(cfg, load_digits())
    records = fit(t, RunLog(None), verbose=False)
    assert [r["epoch"] for r in records] == [1, 2, 3] and t.step == 30
    assert t.restarts == 1 and t.lr_scale == 0.5
    assert records[0]["lr"] == pytest.approx(cfg.train.lr) and records[2]["lr"] == pytest.approx(cfg.train.lr / 2)


def test_g_and_d_follow_the_schedule_from_their_own_learning_rates():
    cfg, _ = config.load(
        "digits_ssl",
        QUICK
        + [
            "train.epochs=2",
            "train.iters_per_epoch=10",
            "train.lr_decay_start=0.5",
            "train.lr=0.003",
            "train.g_lr=0.001",
            "train.beta1=0.6",
        ],
    )
    t = build(cfg, load_digits())
    assert t.opt_d.param_groups[0]["betas"] == t.opt_g.param_groups[0]["betas"] == (0.6, 0.999)
    records = fit(t, RunLog(None), verbose=False)
    assert records[0]["lr"] == pytest.approx(0.003)  # constant for the first half
    # the last step (19 of 20) runs at 1/10 of each base rate
    assert t.opt_d.param_groups[0]["lr"] == pytest.approx(0.0003) and t.opt_g.param_groups[0]["lr"] == pytest.approx(
        0.0001
    )


def test_persistent_nan_gives_up_and_keeps_the_last_good_checkpoint(monkeypatch, tmp_path):
    cfg, _ = config.load("digits_ssl", QUICK + ["train.epochs=3", "train.iters_per_epoch=10", "train.nan_retries=2"])
    _inject_nan(monkeypatch, at_steps=set(range(12, 1000)))  # every step after epoch 1
    t = build(cfg, load_digits())
    with pytest.raises(TrainingError, match="gave up after 2 restarts"):
        fit(t, RunLog(tmp_path), verbose=False)
    state = load_checkpoint(tmp_path / "checkpoint.pt")
    assert state["epoch"] == 1 and state["step"] == 10


def test_split_seed_fixes_the_labelled_split_across_training_seeds():
    data = load_digits()

    def labelled(*overrides):
        cfg = config.load("digits_ssl", list(overrides))[0]
        return MODES[cfg.train.mode].split(cfg, data).labelled

    assert np.array_equal(labelled("train.seed=1", "data.split_seed=7"), labelled("train.seed=2", "data.split_seed=7"))
    assert not np.array_equal(labelled("train.seed=1"), labelled("train.seed=2"))  # default: follows train.seed
    assert np.array_equal(labelled("train.seed=7"), labelled("train.seed=1", "data.split_seed=7"))
