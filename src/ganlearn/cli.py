"""Command line: `ganlearn train | evaluate | sample | export | features | cluster | embed | anomaly | configs`.

User mistakes (bad data, config, run folder) end with one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import config as config_mod
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
    p.add_argument("--seed", type=int, default=0)
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

    _add_probe_parsers(sub)
    sub.add_parser("configs", help="list the built-in configs")
    return parser


def _add_probe_parsers(sub) -> None:
    def probe(name, help_text):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("run_dir")
        _add_data_flags(p)
        return p

    p = probe("features", "discriminator features of a split, saved as .npz")
    p.add_argument("--split", default="test", help="train or test (default: test)")
    p.add_argument("--out", help="the .npz path (default: RUN_DIR/features_SPLIT.npz)")
    p = probe(
        "cluster",
        "the GAN's own clusters (mode cluster) beside k-means on D features, pixels and PCA of pixels: "
        "NMI, ARI, accuracy; with INPUTs, a CSV assigning new images to clusters",
    )
    _add_inputs(p, "assign", "clusters.csv")
    p.add_argument("-k", type=int, default=10, help="number of k-means clusters")
    p.add_argument("--split", default="test")
    p.add_argument("-n", type=int, help="cluster a random subset of this many images")
    p = probe("embed", "a 2-D map of discriminator features, coloured by label or cluster (PNG)")
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
    p = probe(
        "anomaly",
        "AUROC of anomaly scores for the classes a run was trained without; "
        "with INPUTs, a CSV of their scores against the run's training images",
    )
    _add_inputs(p, "score", "scores.csv")
    p.add_argument("-k", type=int, default=5, help="neighbours of the k-NN score")


def _add_inputs(p: argparse.ArgumentParser, verb: str, default_csv: str) -> None:
    """New images for a probe command (as for predict) and the CSV its answer goes to."""
    p.add_argument("inputs", nargs="*", metavar="INPUT", help=f"image files, folders, .npz files to {verb}")
    p.add_argument("-o", "--out", default=default_csv, help=f"the CSV for INPUTs (default: {default_csv})")


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


def cmd_train(args) -> None:
    from .distributed import is_main
    from .train import run

    source = args.config
    if args.resume and not source:
        source = str(Path(args.resume) / "config.yaml")
        if not Path(source).is_file():
            raise GanlearnError(f"not a run folder (no config.yaml): {args.resume}")
    cfg, name = config_mod.load(source, _overrides(args))
    run_dir = run(cfg, name, resume=args.resume)
    if not is_main():
        return
    print(
        f"run folder:  {run_dir}\ncheckpoint:  {run_dir / 'checkpoint.pt'}\n"
        f"curves:      {run_dir / 'curves.png'}\nmetrics:     {run_dir / 'metrics.jsonl'}\n"
        f"tensorboard: tensorboard --logdir {run_dir / 'tb'}"
    )
    if (run_dir / "samples.png").exists():
        print(f"samples:     {run_dir / 'samples.png'}")


def cmd_evaluate(args) -> None:
    if len(args.run_dirs) > 1:
        return cmd_evaluate_ensemble(args)
    from .evaluate import evaluate_run

    report = evaluate_run(args.run_dirs[0], _overrides(args), args.samples, args.inception_weights)
    if "miou" in report:
        print(
            f"segmentation of {report['n_test']} test images: pixel accuracy {100 * report['pixel_acc']:.2f}%, "
            f"mean IoU {report['miou']:.4f}\nper-class IoU: "
            + ", ".join(f"{c} {v:.3f}" for c, v in report["iou"].items() if v is not None)
            + f"\noverlays (image | truth | prediction): {report['overlays_png']}"
        )
    if "test_acc" in report:
        print(
            f"test accuracy: {100 * report['test_acc']:.2f}%  (test error {100 * (1 - report['test_acc']):.2f}%, "
            f"{report['n_test']} images)\nconfusion matrix: {report['confusion_png']}"
        )
    if "samples" in report:
        clf = report["domain_classifier"]
        print(
            f"scores of {report['n_samples']} samples, {clf['dataset']} domain classifier "
            f"(test accuracy {100 * clf['test_accuracy']:.2f}%); real training images give the floor:"
        )
        for key in ("fid", "inception_score", "coverage_kl"):
            print(f"  {key:<16} {report['samples'][key]:8.3f}   real: {report['real_train_floor'][key]:8.3f}")
    if "inception_fid" in report:
        fid = report["inception_fid"]
        print(
            f"standard FID (Inception-v3, torch-fidelity) of {report['n_samples']} samples: {fid['samples']:.3f}"
            f"   real: {fid['real_train_floor']:.3f}"
        )
    print(f"report: {report['report_json']}")


def cmd_evaluate_ensemble(args) -> None:
    from .evaluate import evaluate_ensemble

    if args.inception_weights:
        raise GanlearnError("--inception-weights scores one run's generator; give one run folder")
    report = evaluate_ensemble(args.run_dirs, _overrides(args))
    for member in report["members"]:
        print(f"test accuracy: {100 * member['test_acc']:.2f}%  {member['run']}")
    print(
        f"ensemble of {len(report['members'])}: test accuracy {100 * report['test_acc']:.2f}% "
        f"(test error {100 * (1 - report['test_acc']):.2f}%, {report['n_test']} images)"
    )


def cmd_features(args) -> None:
    from .probes import features_run

    print(f"features: {features_run(args.run_dir, args.split, args.out, _overrides(args))}")


def cmd_cluster(args) -> None:
    from .probes import cluster_inputs, cluster_run

    if args.inputs:
        print(f"clusters: {cluster_inputs(args.run_dir, args.inputs, args.out, args.k, overrides=_overrides(args))}")
        return
    report = cluster_run(args.run_dir, args.k, args.split, args.n, _overrides(args))
    print(f"{report['n']} {report['split']} images, k-means with k={report['k']}")
    scored = "nmi" in next(iter(report["results"].values()))  # else unlabelled images: cluster sizes
    print(f"{'method':<28} " + (f"{'NMI':>6} {'ARI':>6} {'ACC':>6}" if scored else "cluster sizes"))
    for name, r in report["results"].items():
        print(
            f"{name:<28} " + (f"{r['nmi']:6.3f} {r['ari']:6.3f} {r['acc']:6.3f}" if scored else str(r["cluster_sizes"]))
        )
    print(f"assignments: {Path(args.run_dir) / 'clusters.npz'}\nreport: {Path(args.run_dir) / 'clusters.json'}")
    print(f"map: {report['map_png']}")


def cmd_embed(args) -> None:
    from .probes import embed_run

    path = embed_run(
        args.run_dir,
        args.method,
        args.split,
        args.n,
        args.out,
        args.thumbnails,
        args.size,
        args.colour_by,
        _overrides(args),
    )
    print(f"map: {path}")


def cmd_anomaly(args) -> None:
    from .probes import anomaly_inputs, anomaly_run

    if args.inputs:
        print(f"scores: {anomaly_inputs(args.run_dir, args.inputs, args.out, args.k, overrides=_overrides(args))}")
        return
    report = anomaly_run(args.run_dir, args.k, overrides=_overrides(args))
    print(f"held-out classes {report['held_out']}: {report['n_anomalies']} of {report['n_test']} test images")
    for name, value in report["auroc"].items():
        print(f"  AUROC {value:.3f}  {name}")
    print(f"histograms: {report['histogram_png']}")


def cmd_predict(args) -> None:
    import time

    from .inference import load, write_label_maps, write_predictions

    model = load(args.model)
    start = time.perf_counter()
    if model.segments:
        out = Path(args.out or "label_maps")
        n = write_label_maps(model, args.inputs, out)
        print(f"label maps (NAME.png, class numbers) and overlays (NAME_overlay.png) of {n} images: {out}")
        return
    out = Path(args.out or "predictions.csv")
    n = write_predictions(model, args.inputs, out)
    seconds = time.perf_counter() - start
    print(f"predictions for {n} images: {out}  ({n / seconds:.0f} images/s)")


def cmd_export(args) -> None:
    from .export import export_onnx, export_run

    if args.format == "onnx":
        print(f"model: {export_onnx(args.run_dir, args.out)}  (onnxruntime: images -> probabilities, p_real)")
    else:
        print(
            f"model: {export_run(args.run_dir, args.out)}  (ganlearn predict MODEL IMAGES..., or ganlearn.load(MODEL))"
        )


def cmd_sample(args) -> None:
    from .evaluate import sample_run

    print(f"samples: {sample_run(args.run_dir, args.n, args.seed, args.out)}")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "configs":
            print("\n".join(config_mod.builtin_configs()))
        else:
            {
                "train": cmd_train,
                "evaluate": cmd_evaluate,
                "sample": cmd_sample,
                "features": cmd_features,
                "cluster": cmd_cluster,
                "embed": cmd_embed,
                "anomaly": cmd_anomaly,
                "export": cmd_export,
                "predict": cmd_predict,
            }[args.command](args)
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
