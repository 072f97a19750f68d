import os

import pytest
import torch

from ganlearn.checkpoint import check_same_config, load_checkpoint, save_checkpoint
from ganlearn.config import Config
from ganlearn.errors import CheckpointError


class RunsCode:
    """Unpickling this object would create a file: the classic pickle bomb."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_checkpoint_with_a_pickled_object_is_refused_and_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    torch.save({"config": {}, "payload": RunsCode(marker)}, path)
    with pytest.raises(CheckpointError, match="refusing to load"):
        load_checkpoint(path)
    assert not marker.exists()


def test_round_trip_and_corrupt_file(tmp_path):
    state = {"config": Config().to_dict(), "w": torch.arange(3.0)}
    save_checkpoint(tmp_path / "c.pt", state)
    assert torch.equal(load_checkpoint(tmp_path / "c.pt")["w"], state["w"])
    (tmp_path / "bad.pt").write_bytes(b"\x00" * 100)
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_checkpoint(tmp_path / "bad.pt")
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "none.pt")


def test_failed_write_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "c.pt"
    save_checkpoint(path, {"config": {}, "v": 1})

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", disk_full)
    with pytest.raises(CheckpointError, match="No space left.*previous checkpoint is unchanged"):
        save_checkpoint(path, {"config": {}, "v": 2})
    monkeypatch.undo()
    assert load_checkpoint(path)["v"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]  # no temporary file left behind


def test_resume_refuses_a_different_config():
    old = Config().to_dict()
    new = Config().to_dict()
    new["train"]["epochs"] = 50  # training longer is allowed
    check_same_config(old, new)
    new["train"]["lr"] = 0.1
    with pytest.raises(CheckpointError, match=r"train.lr: 0.003 -> 0.1"):
        check_same_config(old, new)


def test_resume_reads_keys_older_checkpoints_lack_as_their_defaults():
    old, new = Config().to_dict(), Config().to_dict()
    del old["train"]["g_lr"], old["data"]["split_method"]  # a checkpoint saved before these keys existed
    check_same_config(old, new, defaults=Config().to_dict())
    new["train"]["g_lr"] = 0.001
    with pytest.raises(CheckpointError, match=r"train.g_lr: None -> 0.001"):
        check_same_config(old, new, defaults=Config().to_dict())


def test_exported_model_round_trip_and_bad_files(tmp_path, capsys):
    from ganlearn.cli import main
    from ganlearn.deploy.export import load_exported

    assert (
        main(
            [
                "train",
                "-c",
                "digits_ssl",
                "--out-dir",
                str(tmp_path),
                "--no-progress",
                "--epochs",
                "1",
                "--set",
                "train.iters_per_epoch=5",
            ]
        )
        == 0
    )
    run_dir = tmp_path / "000-digits_ssl"
    assert main(["export", str(run_dir)]) == 0
    cfg, G, D, classes = load_exported(run_dir / "model.safetensors")
    state = load_checkpoint(run_dir / "checkpoint.pt")
    assert cfg.model.d_hidden == [500, 250, 250] and classes == state["classes"]
    assert all(torch.equal(D.state_dict()[k], v) for k, v in state["D_ema"].items())
    assert all(torch.equal(G.state_dict()[k], v) for k, v in state["G"].items())
    (tmp_path / "junk.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}")
    with pytest.raises(CheckpointError, match="not a readable safetensors"):
        load_exported(tmp_path / "junk.safetensors")
    from safetensors.torch import save_file

    save_file({"w": torch.zeros(2)}, str(tmp_path / "other.safetensors"))
    with pytest.raises(CheckpointError, match="not a ganlearn model"):
        load_exported(tmp_path / "other.safetensors")
