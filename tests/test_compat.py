"""Run folders and exports written by ganlearn 0.2 load, resume and predict as 0.2 did.

tests/fixtures/v0.2 (its README says how each file was made with 0.2's code, commit 770b57d) holds
three tiny runs, ssl with self-training, seg with Hung et al.'s terms and cluster, each with an
export; a saved GANClassifier; and what 0.2 itself predicted from them and recorded when it resumed
them. The keys that 0.3 moved into the modes' own sections (`train.pseudo_label_*`,
`train.adv_weight`, `train.latent_weight`, ...) are mapped.
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import ganlearn
from ganlearn.checkpoint import load_run, restore_models
from ganlearn.models.outputs import d_features

FIXTURES = Path(__file__).parent / "fixtures" / "v0.2"
EXPECTED = np.load(FIXTURES / "expected.npz")
EXPECTED_JSON = json.loads((FIXTURES / "expected.json").read_text())


def copy_run(name: str, tmp_path: Path) -> Path:
    return Path(shutil.copytree(FIXTURES / name, tmp_path / name))


def test_the_moved_keys_are_read_in_their_new_sections(data_dir):
    ssl, _ = load_run(FIXTURES / "ssl")
    assert (ssl.self_training.threshold, ssl.self_training.start) == (0.5, 0)
    seg, _ = load_run(FIXTURES / "seg", [f"data.data_dir={data_dir}"])
    assert (seg.seg.adv_weight, seg.seg.adv_unlabelled_weight, seg.seg.semi_weight, seg.seg.semi_start) == (
        0.01,
        0.001,
        0.1,
        0.5,
    )
    cluster, _ = load_run(FIXTURES / "cluster")
    assert cluster.cluster.latent_weight == 5.0
    assert "pseudo_label_threshold" not in ssl.to_dict()["train"] and "seg" not in ssl.to_dict()


@pytest.mark.parametrize("source", ["ssl", "ssl/model.safetensors"])
def test_a_classifier_of_0_2_predicts_what_0_2_predicted(source):
    model = ganlearn.load(FIXTURES / source)
    np.testing.assert_allclose(model.predict_proba(EXPECTED["digits"]), EXPECTED["ssl_proba"], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(model.p_real(EXPECTED["digits"]), EXPECTED["ssl_p_real"], rtol=1e-5, atol=1e-7)


def test_a_segmenter_and_a_clustergan_of_0_2_give_what_0_2_gave():
    segmenter = ganlearn.load(FIXTURES / "seg" / "model.safetensors")
    logits = segmenter.logits(EXPECTED["canvases"])[0].numpy()
    np.testing.assert_allclose(logits, EXPECTED["seg_logits"], rtol=1e-4, atol=1e-5)
    cfg, state = load_run(FIXTURES / "cluster")
    _, D = restore_models(cfg, state, torch.device("cpu"))
    features = d_features(D, EXPECTED["digits"][:, None])
    np.testing.assert_allclose(features, EXPECTED["cluster_features"], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", ["ssl", "cluster"])
def test_a_run_folder_of_0_2_resumes_and_is_rewritten_as_0_3(name, tmp_path):
    run_dir = copy_run(name, tmp_path)
    cfg, config_name = ganlearn.load_config(run_dir / "config.yaml", ["train.epochs=2", "train.progress=false"])
    ganlearn.run(cfg, config_name, resume=run_dir)
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines() if line.strip()]
    assert len(records) == 2  # the 0.2 epoch, then one more, as 0.2 itself resumed it
    resumed = {k: v for k, v in records[1].items() if k not in ("epoch_seconds", "elapsed")}
    assert resumed == pytest.approx(EXPECTED_JSON[name], rel=1e-4)
    saved, _ = load_run(run_dir)  # the checkpoint and config.yaml now in 0.3's layout
    own_sections = {"ssl": {"self_training", "consistency"}, "cluster": {"cluster"}}[name]
    assert saved.to_dict() == cfg.to_dict() and set(saved.to_dict()) == {"data", "model", "train", *own_sections}
    assert all(f"\n{section}:\n" in (run_dir / "config.yaml").read_text() for section in own_sections)


def test_a_seg_run_of_0_2_resumes_from_the_command_line(tmp_path, data_dir):
    run_dir = copy_run("seg", tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "ganlearn.cli", "train", "--resume", str(run_dir), "--epochs", "2"]
        + ["--data-dir", str(data_dir), "--set", "train.progress=false"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "resuming" in result.stdout and "epoch 2/2" in result.stdout
    assert "adv_weight: 0.01" in (run_dir / "config.yaml").read_text().split("seg:")[1]


def test_predict_reads_a_0_2_export(tmp_path):
    np.savez(tmp_path / "digits.npz", x=EXPECTED["digits"])
    out = tmp_path / "predictions.csv"
    result = subprocess.run(
        [sys.executable, "-m", "ganlearn.cli", "predict", str(FIXTURES / "ssl" / "model.safetensors")]
        + [str(tmp_path / "digits.npz"), "--out", str(out)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    rows = out.read_text().splitlines()
    assert len(rows) == 21 and rows[0].startswith("file,predicted,p_0")
    predicted = [row.split(",")[1] for row in rows[1:]]
    assert predicted == [str(c) for c in EXPECTED["ssl_proba"].argmax(1)]


def test_a_gan_classifier_saved_by_0_2_predicts_what_it_did():
    from sklearn.datasets import load_digits

    clf = ganlearn.GANClassifier.load(FIXTURES / "estimator.safetensors")
    X = load_digits(return_X_y=True)[0][1400:1420]
    np.testing.assert_allclose(clf.predict_proba(X), EXPECTED_JSON["estimator_proba_X_1400_1420"], rtol=1e-5, atol=1e-7)
