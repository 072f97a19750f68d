"""Command line: `ganlearn train | evaluate | sample | predict | export | features | cluster | embed | anomaly
| configs | cache`: the parser, and the one-line errors (`commands.py` holds what each command does).

User mistakes (bad data, config, run folder) end with one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import sys

from .commands import COMMANDS
from .data.images import MAX_PIXELS
from .errors import GanlearnError
from .modes import MODES

FLAG_KEYS = {  # command-line flag -> config key
    "epochs": "train.epochs",
    "seed": "train.seed",
    "device": "train.device",
    "out_dir": "train.out_dir",
    "data_dir": "data.data_dir",
    "labels_per_class": "data.labels_per_class",
    "mode": "train.mode",
}


def _add_data_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", help="folder holding mnist/ or fashion-mnist/ (else $GANLEARN_DATA, then ~/.cache)")
    p.add_argument("--no-download", action="store_true", help="never download data sets")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ganlearn", description="Learning with generative adversarial networks.")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_train_parser(sub)
    _add_run_parsers(sub)
    _add_analysis_parsers(sub)
    sub.add_parser("configs", help="list the built-in configs")
    p = sub.add_parser("cache", help="where the cache of decoded image files is, and its size")
    p.add_argument("--clear", action="store_true", help="empty it")
    return parser


def _add_train_parser(sub) -> None:
    p = sub.add_parser("train", help="train a model (a new numbered run folder, or --resume one)")
    p.add_argument("-c", "--config", help="YAML file or built-in name (see `ganlearn configs`)")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="override a config key, e.g. --set train.lr=0.001 (repeatable)",
    )
    p.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR from its checkpoint")
    p.add_argument("--epochs", type=int)
    p.add_argument("--seed", type=int)
    p.add_argument("--labels-per-class", type=int)
    p.add_argument("--mode", choices=list(MODES), help="what to train (default: the config's)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"])
    p.add_argument("--out-dir", help="where numbered run folders go (default: runs)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    _add_data_flags(p)


def _add_run_parsers(sub) -> None:
    """evaluate, sample, predict and export: commands on a trained run."""
    p = sub.add_parser(
        "evaluate",
        help="test accuracy, confusion matrix and sample scores of a run (mIoU in mode seg); "
        "with several runs on one labelled split, the test accuracy of their ensemble",
    )
    p.add_argument("run_dirs", nargs="+", metavar="run_dir")
    p.add_argument("-n", "--samples", type=int, default=10_000, help="generated images to score")
    p.add_argument(
        "--inception-weights",
        metavar="FILE",
        help="also the standard FID, with torch-fidelity and these Inception-v3 weights (never downloaded)",
    )
    _add_data_flags(p)

    p = sub.add_parser("sample", help="a grid of generated images from a run")
    p.add_argument("run_dir")
    p.add_argument("-n", type=int, default=64, help="number of images")
    p.add_argument("--seed", type=int, default=0, dest="sample_seed", help="seed of the latent draws")
    p.add_argument("-o", "--out", help="PNG path (default: RUN_DIR/sample.png)")

    p = sub.add_parser(
        "predict",
        help="label new images with a trained classifier (a CSV of class probabilities) or segmenter (label-map PNGs)",
    )
    p.add_argument("model", metavar="RUN_DIR_OR_EXPORT", help="a run folder or an exported .safetensors file")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image files, folders (searched recursively), .npz files")
    p.add_argument(
        "-o",
        "--out",
        help="the CSV to write (default: predictions.csv); for a segmenter a folder (default: label_maps)",
    )
    _add_reading_flags(p)

    p = sub.add_parser("export", help="the run's networks as one safetensors file (loading it runs no code)")
    p.add_argument("run_dir")
    p.add_argument("-o", "--out", help="file path (default: RUN_DIR/model.safetensors or model.onnx)")
    p.add_argument(
        "--format",
        choices=["safetensors", "onnx"],
        default="safetensors",
        help="safetensors: the networks, for ganlearn predict / ganlearn.load; onnx: the classifier alone "
        "(class probabilities and p_real), for onnxruntime (pip install 'ganlearn[onnx]')",
    )


def _add_analysis_parsers(sub) -> None:
    def analysis(name, help_text):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("run_dir")
        _add_data_flags(p)
        return p

    p = analysis("features", "discriminator features of a split, saved as .npz")
    p.add_argument("--split", default="test", help="train or test (default: test)")
    p.add_argument("--out", help="the .npz path (default: RUN_DIR/features_SPLIT.npz)")
    p = analysis(
        "cluster",
        "the GAN's own clusters (mode cluster) beside k-means on D features, pixels and PCA of pixels: "
        "NMI, ARI, accuracy; with INPUTs, a CSV assigning new images to clusters",
    )
    _add_inputs(p, "assign", "clusters.csv")
    p.add_argument("-k", type=int, default=10, help="number of k-means clusters")
    p.add_argument("--split", default="test")
    p.add_argument("-n", type=int, help="cluster a random subset of this many images")
    p = analysis("embed", "a 2-D map of discriminator features, coloured by label or cluster (PNG)")
    p.add_argument("--method", default="pca", help="pca, tsne or umap (umap needs umap-learn)")
    p.add_argument("--split", default="test")
    p.add_argument("-n", type=int, default=2000, help="images on the map")
    p.add_argument("--size", type=int, default=800, help="the PNG's width and height in pixels")
    p.add_argument("--thumbnails", action="store_true", help="draw some images on the map")
    p.add_argument(
        "--colour-by",
        default="auto",
        choices=["auto", "label", "cluster"],
        help="colour points by label or by k-means cluster (auto: clusters when the data has one class)",
    )
    p.add_argument("--out", help="PNG path (default: RUN_DIR/embed_METHOD.png)")
    p = analysis(
        "anomaly",
        "AUROC of anomaly scores for the classes a run was trained without; "
        "with INPUTs, a CSV of their scores against the run's training images",
    )
    _add_inputs(p, "score", "scores.csv")
    p.add_argument("-k", type=int, default=5, help="neighbours of the k-NN score")


def _add_inputs(p: argparse.ArgumentParser, verb: str, default_csv: str) -> None:
    """New images for an analysis command (as for predict) and the CSV its answer goes to."""
    p.add_argument("inputs", nargs="*", metavar="INPUT", help=f"image files, folders, .npz files to {verb}")
    p.add_argument("-o", "--out", default=default_csv, help=f"the CSV for INPUTs (default: {default_csv})")
    _add_reading_flags(p)


def _positive_int(text: str) -> int:
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return int(text)


def _add_reading_flags(p: argparse.ArgumentParser) -> None:
    """How new image files are read: what is done with one that cannot be, how large one may be."""
    p.add_argument(
        "--skip-bad", action="store_true", help="leave out unreadable image files (listed in OUT_skipped.csv)"
    )
    p.add_argument(
        "--max-image-pixels",
        type=_positive_int,
        metavar="N",
        help="refuse image files declaring more pixels, against decompression bombs (default: the run's "
        f"data.max_image_pixels, {MAX_PIXELS:,} unless raised)",
    )


def _overrides(args) -> list[str]:
    sets = list(getattr(args, "set", []))
    for flag, key in FLAG_KEYS.items():
        value = getattr(args, flag, None)
        if value is not None:
            sets.append(f"{key}={value}")
    if getattr(args, "no_download", False):
        sets.append("data.download=false")
    if getattr(args, "no_progress", False):
        sets.append("train.progress=false")
    return sets


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        args.overrides = _overrides(args)  # the flags as config overrides, for the commands that read a config
        COMMANDS[args.command](args)
    except GanlearnError as e:
        print(f"ganlearn: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "ganlearn: interrupted; the run folder's checkpoint is up to date "
            "(continue with: ganlearn train --resume RUN_DIR)",
            file=sys.stderr,
        )
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
