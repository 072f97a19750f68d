"""The README's examples run as written: its commands parse and their configs load, its Python runs;
so do docs/api.md's, which use only the public names (ganlearn.__all__)."""

import argparse
import re
import shlex
from pathlib import Path

import pytest

from ganlearn import config
from ganlearn.cli import _overrides, _parser, main
from ganlearn.commands import COMMANDS

DOCS = Path(__file__).parents[1] / "docs"
README = (Path(__file__).parents[1] / "README.md").read_text()
API = (DOCS / "api.md").read_text()


def blocks(language: str, text: str = README) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", text, re.S)


def commands() -> list[list[str]]:
    """Every `ganlearn ...` command of the README's sh blocks, as arguments (comments dropped)."""
    lines = [
        line for block in blocks("sh") for line in block.replace("\\\n", " ").splitlines()
    ]  # continued lines joined
    return [shlex.split(line, comments=True)[1:] for line in lines if line.startswith("ganlearn ")]


def test_every_sub_command_has_a_function():
    subparsers = next(a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction))
    assert set(subparsers.choices) == set(COMMANDS)


def test_the_readme_has_examples():
    assert len(commands()) >= 8 and len(blocks("python")) >= 2


@pytest.mark.parametrize("argv", commands(), ids=" ".join)
def test_each_command_parses_and_its_config_loads(argv):
    args = _parser().parse_args(argv)
    if args.command == "train" and args.config:
        config.load(args.config, _overrides(args))


def test_the_python_examples_run_in_order(tmp_path, monkeypatch, capsys):
    """The run folder the examples read is the one `ganlearn train -c digits_ssl` makes first."""
    monkeypatch.chdir(tmp_path)
    assert main(["train", "-c", "digits_ssl", "--no-progress", "--epochs", "1"]) == 0
    assert main(["export", "runs/000-digits_ssl"]) == 0
    namespace = {}
    for block in blocks("python"):
        exec(compile(block, "README.md", "exec"), namespace)
    out = capsys.readouterr().out
    accuracy = float(re.search(r"test accuracy: ([0-9.]+)", out).group(1))
    assert accuracy > 0.5  # 10 epochs on 50 labels: well above chance (0.1)


def test_the_api_examples_run_in_order_on_public_names_only(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    namespace = {}
    for block in blocks("python", API):
        imported = re.findall(r"^(?:from|import) (ganlearn\S*)", block, re.M)
        assert set(imported) <= {"ganlearn"}, f"docs/api.md teaches an internal module: {imported}"
        exec(compile(block, "docs/api.md", "exec"), namespace)
    out = capsys.readouterr().out
    assert "unknown config key 'train.epoch' (did you mean 'train.epochs'?)" in out
    assert (tmp_path / "runs" / "000-digits_ssl" / "model.safetensors").is_file()
