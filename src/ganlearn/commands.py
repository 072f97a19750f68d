"""What each `ganlearn` sub-command does, given its parsed arguments (`cli.py` parses them; the
config overrides its flags stand for are in `args.overrides`). COMMANDS: name -> function.
"""

from __future__ import annotations

from pathlib import Path

from . import config as config_mod
from .checkpoint import CHECKPOINT
from .errors import GanlearnError


def cmd_train(args) -> None:
    from .train import run
    from .train.distributed import is_main

    source = args.config
    if args.resume and not source:
        source = str(Path(args.resume) / "config.yaml")
        if not Path(source).is_file():
            raise GanlearnError(f"not a run folder (no config.yaml): {args.resume}")
    cfg, name = config_mod.load(source, args.overrides)
    run_dir = run(cfg, name, resume=args.resume)
    if not is_main():
        return
    print(
        f"run folder:  {run_dir}\ncheckpoint:  {run_dir / CHECKPOINT}\n"
        f"curves:      {run_dir / 'curves.png'}\nmetrics:     {run_dir / 'metrics.jsonl'}\n"
        f"tensorboard: tensorboard --logdir {run_dir / 'tb'}"
    )
    if (run_dir / "samples.png").exists():
        print(f"samples:     {run_dir / 'samples.png'}")


def cmd_evaluate(args) -> None:
    if len(args.run_dirs) > 1:
        return cmd_evaluate_ensemble(args)
    from .evaluation.report import evaluate_run

    report = evaluate_run(args.run_dirs[0], args.overrides, args.samples, args.inception_weights)
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
    from .evaluation.report import evaluate_ensemble

    if args.inception_weights:
        raise GanlearnError("--inception-weights scores one run's generator; give one run folder")
    report = evaluate_ensemble(args.run_dirs, args.overrides)
    for member in report["members"]:
        print(f"test accuracy: {100 * member['test_acc']:.2f}%  {member['run']}")
    print(
        f"ensemble of {len(report['members'])}: test accuracy {100 * report['test_acc']:.2f}% "
        f"(test error {100 * (1 - report['test_acc']):.2f}%, {report['n_test']} images)"
    )


def cmd_features(args) -> None:
    from .analysis.representations import features_run

    print(f"features: {features_run(args.run_dir, args.split, args.out, args.overrides)}")


def cmd_cluster(args) -> None:
    from .analysis.clustering import cluster_inputs, cluster_run

    if args.inputs:
        reading = {"skip_bad": args.skip_bad, "max_pixels": args.max_image_pixels}
        out = cluster_inputs(args.run_dir, args.inputs, args.out, args.k, overrides=args.overrides, **reading)
        print(f"clusters: {out}")
        return
    report = cluster_run(args.run_dir, args.k, args.split, args.n, args.overrides)
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
    from .analysis.maps import embed_run

    path = embed_run(
        args.run_dir,
        args.method,
        args.split,
        args.n,
        args.out,
        args.thumbnails,
        args.size,
        args.colour_by,
        args.overrides,
    )
    print(f"map: {path}")


def cmd_anomaly(args) -> None:
    from .analysis.anomaly import anomaly_inputs, anomaly_run

    if args.inputs:
        reading = {"skip_bad": args.skip_bad, "max_pixels": args.max_image_pixels}
        out = anomaly_inputs(args.run_dir, args.inputs, args.out, args.k, overrides=args.overrides, **reading)
        print(f"scores: {out}")
        return
    report = anomaly_run(args.run_dir, args.k, overrides=args.overrides)
    print(f"held-out classes {report['held_out']}: {report['n_anomalies']} of {report['n_test']} test images")
    for name, value in report["auroc"].items():
        print(f"  AUROC {value:.3f}  {name}")
    print(f"histograms: {report['histogram_png']}")


def cmd_predict(args) -> None:
    import time

    from .deploy.trained_model import load, write_label_maps, write_predictions

    model = load(args.model, skip_bad=args.skip_bad, max_image_pixels=args.max_image_pixels)
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
    from .deploy.export import export

    use = {"onnx": "onnxruntime: images -> probabilities (and p_real for a K+1 GAN)"}.get(
        args.format, "ganlearn predict MODEL IMAGES..., or ganlearn.load(MODEL)"
    )
    print(f"model: {export(args.run_dir, args.out, args.format)}  ({use})")


def cmd_sample(args) -> None:
    from .evaluation.report import sample_run

    print(f"samples: {sample_run(args.run_dir, args.n, args.sample_seed, args.out)}")


def cmd_configs(args) -> None:
    print("\n".join(config_mod.builtin_configs()))


def cmd_cache(args) -> None:
    from .data import cache

    if args.clear:
        removed, freed = cache.clear()
        print(f"removed {removed} files ({freed / 1e6:.1f} MB) from {cache.folder()}")
    else:
        print(cache.summary())


COMMANDS = {
    "train": cmd_train,
    "evaluate": cmd_evaluate,
    "sample": cmd_sample,
    "predict": cmd_predict,
    "export": cmd_export,
    "features": cmd_features,
    "cluster": cmd_cluster,
    "embed": cmd_embed,
    "anomaly": cmd_anomaly,
    "configs": cmd_configs,
    "cache": cmd_cache,
}
