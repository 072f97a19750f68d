"""Ensembles of classifier runs on one labelled split: `ganlearn evaluate RUN RUN ...`."""

import numpy as np
import pytest

from ganlearn.cli import main
from ganlearn.evaluation.report import evaluate_ensemble, evaluate_run


def _train(out_dir, *args):
    assert main(["train", "-c", "digits_ssl", "--out-dir", str(out_dir), "--no-progress", *args]) == 0
    return sorted(out_dir.iterdir())[-1]


@pytest.fixture(scope="module")
def members(tmp_path_factory):
    """Three runs on labelled split 5, training seeds 1-3."""
    out = tmp_path_factory.mktemp("members")
    return [_train(out, "--seed", str(seed), "--epochs", "5", "--set", "data.split_seed=5") for seed in (1, 2, 3)]


def test_the_ensemble_averages_its_members(members):
    report = evaluate_ensemble(members)
    accuracies = [m["test_acc"] for m in report["members"]]
    assert accuracies == [evaluate_run(run, n_samples=0)["test_acc"] for run in members]
    assert report["n_test"] == 360
    assert report["test_acc"] >= np.mean(accuracies)  # what an ensemble is for
    assert evaluate_ensemble([members[0]] * 2)["test_acc"] == accuracies[0]  # identical members change nothing


def test_cli_prints_members_and_ensemble(members, capsys):
    assert main(["evaluate", *map(str, members)]) == 0
    out = capsys.readouterr().out
    assert out.count("test accuracy:") == 3 and "ensemble of 3: test accuracy" in out


def test_runs_that_cannot_be_ensembled_are_refused_in_one_line(members, tmp_path, capsys):
    other_split = _train(tmp_path / "split", "--seed", "2", "--epochs", "1")
    gan = _train(tmp_path / "gan", "--mode", "gan", "--epochs", "1")
    cases = {
        "different labelled splits": [members[0], other_split],
        "no classifier": [members[0], gan],
        "--inception-weights": [members[0], members[1], "--inception-weights", "w.pth"],
        "run folder does not exist": [members[0], tmp_path / "none"],
    }
    for message, args in cases.items():
        assert main(["evaluate", *map(str, args)]) == 2, message
        err = capsys.readouterr().err.strip()
        assert message in err and len(err.splitlines()) == 1, err
