"""`tamgu <step>`: the command line only wires arguments to the library functions of the same names."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from .pipeline.config import ConfigError, TrainConfig


def _train_options(p: argparse.ArgumentParser, predict_only: bool = False) -> None:
    """Options shared by every command that trains or predicts; defaults come from TrainConfig."""
    d = TrainConfig()
    g = p.add_argument_group("run options (also settable in --config YAML; flags win)")
    g.add_argument("--config", help="YAML file with any of these options; unknown keys are an error")
    if not predict_only:
        g.add_argument("--name", help="run name (default: the --out folder's name)")
        g.add_argument("--groups", help="CSV with img,group for a class-per-folder dataset")
        g.add_argument("--model", help=f"any timm model name (default {d.model}; the book: vgg16, vgg19, resnet50)")
        g.add_argument("--weights", help=f"imagenet (found offline) | none (from scratch) | PATH of a weights file or "
                       f"folder (default {d.weights})")
        g.add_argument("--freeze-epochs", type=int, help="train only the classifier for this many epochs first (default 0)")
        g.add_argument("--backbone-lr", type=float, help="backbone learning rate as a fraction of --lr (default 1.0)")
        g.add_argument("--label-smoothing", type=float, help="spread this much target mass over the other classes (default 0)")
        g.add_argument("--head", choices=["timm", "book"], help="timm's classifier, or the book's 2048-2048 head")
        g.add_argument("--head-init", choices=["zero", "timm"],
                       help="zero (default): timm's class layer starts at zero, the uniform guess; timm: timm's "
                       "own init (the book's head keeps PyTorch's init either way)")
        g.add_argument("--image-size", help="one number (square) or WxH, e.g. 224 or 160x120 (default 224)")
        g.add_argument("--augment", choices=["none", "book", "light"], help="real-time augmentation (default none)")
        g.add_argument("--optimizer", choices=["adamw", "sgd"], help="adamw (default) or the book's sgd")
        g.add_argument("--lr", type=float, help="learning rate (default 1e-3 adamw, 1e-4 sgd)")
        g.add_argument("--weight-decay", type=float, help=f"AdamW weight decay (default {d.weight_decay})")
        g.add_argument("--schedule", choices=["cosine", "constant"], help="after warm-up (default cosine)")
        g.add_argument("--warmup-epochs", type=float, help=f"linear warm-up length (default {d.warmup_epochs})")
        g.add_argument("--epochs", type=int, help=f"most epochs per fold (default {d.epochs}; early stopping ends sooner)")
        g.add_argument("--patience", type=int, help=f"epochs without a better val log loss before stopping (default {d.patience})")
        g.add_argument("--split", choices=["random", "driver", "group"], help="how folds are made (default driver)")
        g.add_argument("--folds", type=int, help=f"number of folds (default {d.folds})")
        g.add_argument("--fold", type=int, help="train only this fold (0-based): spread folds over machines")
        g.add_argument("--seed", type=int, help=f"seed for folds and training (default {d.seed})")
        g.add_argument("--precision", help="Lightning precision: 32-true (default), 16-mixed, bf16-mixed")
        g.add_argument("--limit-batches", type=float, help="smoke runs: batches per epoch (int) or fraction")
        g.add_argument("--devices", help="Lightning devices: auto, a count, or a list like 0,1")
        g.add_argument("--num-nodes", type=int, help="machines in one DDP job, each with --devices devices (default 1)")
        g.add_argument("--truth", help="held-out test labels CSV (img,classname); found beside generated data")
    g.add_argument("--batch-size", type=int, help=f"images per batch (default {d.batch_size})")
    g.add_argument("--workers", type=int, help=f"data-loading processes (default {d.workers})")
    g.add_argument("--accelerator", help="cpu, gpu, mps or auto (default auto)")
    g.add_argument("--tta", type=int, help="test-time passes: 1 plain, up to 7 with shifts/rotations")


def _opts(args: argparse.Namespace, skip: tuple[str, ...] = ()) -> dict:
    fields = set(TrainConfig.model_fields)
    out = {k: v for k, v in vars(args).items() if k in fields and k not in ("data", "out", *skip) and v is not None}
    if isinstance(out.get("limit_batches"), float) and out["limit_batches"].is_integer() and out["limit_batches"] > 1:
        out["limit_batches"] = int(out["limit_batches"])
    if "devices" in out and str(out["devices"]).isdigit():
        out["devices"] = int(out["devices"])
    return out


def _print_summary(summary: dict) -> None:
    print(f"\n{'fold':>6} {'log loss':>9} {'accuracy':>9} {'images':>7}")
    for k, v in sorted(summary["per_fold"].items(), key=lambda kv: int(kv[0])):
        print(f"{k:>6} {v['log_loss']:9.4f} {v['accuracy']:9.3f} {v['images']:7d}")
    o = summary["oof"]
    print(f"{'OOF':>6} {o['log_loss']:9.4f} {o['accuracy']:9.3f} {o['images']:7d}   (uniform guess: "
          f"{summary['uniform_log_loss']:.4f})")
    if "heldout" in summary:
        h = summary["heldout"]
        print(f"\n{'':6} {'log loss':>9} {'accuracy':>9} {'images':>7}")
        print(f"{'CV':>6} {o['log_loss']:9.4f} {o['accuracy']:9.3f} {o['images']:7d}   driver-CV estimate (OOF)")
        print(f"{'test':>6} {h['log_loss']:9.4f} {h['accuracy']:9.3f} {h['images']:7d}   held-out test drivers "
              f"(private leaderboard), gap {h['log_loss'] - o['log_loss']:+.4f}")
    print(f"\nrun folder: {summary['run']}")
    if "submission" in summary:
        print(f"submission: {summary['submission']}")


def cmd_synth(a):
    from .pipeline.synthetic import synth

    out = synth(a.out, drivers=a.drivers, per_class=a.per_class, test=a.test, test_drivers=a.test_drivers,
                image_size=a.image_size, seed=a.seed)
    print(f"wrote a generated State Farm dataset to {out}")


def cmd_check(a):
    from .pipeline.data import check

    s = check(a.data, groups=a.groups, classes=a.classes.split(",") if a.classes else None, decode=not a.no_decode,
              progress=True)
    print(f"OK: {s['root']} ({s['layout']} layout)")
    print(f"  classes: {len(s['classes'])} ({', '.join(s['classes'])})")
    print(f"  train images: {s['train_images']} in {s['groups']} groups; test images: {s['test_images']}")
    print("  per class: " + ", ".join(f"{c} {n}" for c, n in s["per_class"].items()))
    if s["per_group"]:
        counts = list(s["per_group"].values())
        print(f"  per group: {min(counts)} to {max(counts)} images")


def cmd_eda(a):
    from .pipeline.exploration import eda

    s = eda(a.data, a.out, groups=a.groups, samples=a.samples)
    if not isinstance(s, dict):  # --out page.html
        print(f"EDA page -> {s.path} (open it in a browser)")
        return
    print(f"{s['train_images']} training and {s['test_images']} test images, {len(s['classes'])} classes, "
          f"{len(s['per_group'])} groups -> {s['report']}")


def cmd_augment_preview(a):
    from .pipeline.exploration import augment_preview

    augment_preview(a.data, a.out, augment=a.augment, image_size=a.image_size, images=a.images, versions=a.versions,
                    groups=a.groups, seed=a.seed)
    print(f"originals and {a.augment} augmentations -> {a.out}")


def cmd_train(a):
    from .pipeline.training import train

    summary = train(a.data, out=a.out, config=a.config, fresh=a.fresh, **_opts(a))
    if summary:
        _print_summary(summary)


def cmd_env(a):
    from .machine import environment

    print(environment().to_string(index=False))


def cmd_samples(a):
    from .video.samples import samples

    table = samples(a.out)
    print(table.groupby(["kind", "source"]).size().rename("files").reset_index().to_string(index=False))
    for m in table.attrs.get("missing", []):
        print(f"not installed, so not included: {m}")
    print(f"-> {a.out} (list: {Path(a.out) / 'samples.csv'})")


def cmd_report(a):
    from .reports.run_page import report

    page = report(a.run, out=a.out, gradcam=not a.no_gradcam, worst=a.worst)
    print(f"report -> {page.path} (open it in a browser)")


def cmd_collect(a):
    from .pipeline.training import collect

    _print_summary(collect(a.run))


def cmd_predict(a):
    from .pipeline.prediction import predict

    sub = predict(a.run, data=a.data, out=a.out, tta=a.tta, accelerator=a.accelerator, batch_size=a.batch_size,
                  workers=a.workers)
    print(f"predicted {len(sub)} images -> {a.out or Path(a.run) / 'submission.csv'}")


def cmd_score(a):
    from .pipeline.prediction import score

    s = score(a.submission, a.truth, groups=a.groups)
    print(json.dumps(s, indent=2))


def cmd_demo(a):
    from .pipeline.demojob import demo

    summary = demo(out=a.out, accelerator=a.accelerator, workers=a.workers)
    _print_summary(summary)
    print(f"submission validated against {summary['sample_submission']}")


def cmd_reproduce(a):
    from .pipeline.reproduce import reproduce, results_markdown

    table = reproduce(a.chapter, data=a.data, out=a.out, small=a.small, steps=a.steps.split(",") if a.steps else None,
                      accelerator=a.accelerator, workers=a.workers, devices=a.devices, epochs=a.epochs)
    print("\n" + results_markdown(table))
    print(f"table: {Path(a.out) / 'results.md'} and results.csv")


def _print_blend_table(summary: dict) -> None:
    import pandas as pd

    table = pd.DataFrame(summary["table"])
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))


def cmd_ensemble(a):
    from .pipeline.ensemble import ensemble

    clip = tuple(float(v) for v in a.clip.split(",")) if a.clip else None
    weights = [float(v) for v in a.weights.split(",")] if a.weights else None
    s = ensemble(a.runs, a.out, method=a.method, weights=weights, temperature=a.temperature, clip=clip, truth=a.truth)
    _print_blend_table(s)
    if s.get("weights") is not None:
        print(f"\nweights: {s['weights']}")
    if "temperature" in s:
        print(f"temperature: {s['temperature']:.3f}")
    print(f"\nensemble folder: {a.out}")


def cmd_smooth(a):
    from .pipeline.smoothing import smooth

    s = smooth(a.run, a.out, k=a.k, alpha=a.alpha, truth=a.truth, accelerator=a.accelerator)
    b = s["before"]
    print(f"k {s['k']}, alpha {s['alpha']} (chosen on OOF; grid in {Path(a.out) / 'grid.csv'})")
    print(f"{'':8} {'before':>9} {'after':>9}")
    print(f"{'OOF':8} {b['oof_log_loss']:9.4f} {s['oof']['log_loss']:9.4f}")
    if "heldout" in s:
        print(f"{'held-out':8} {b['heldout_log_loss']:9.4f} {s['heldout']['log_loss']:9.4f}")
    print(f"\nsmoothed run folder: {a.out}")


def cmd_pseudo(a):
    from .pipeline.pseudo import pseudo

    s = pseudo(a.run, a.data, a.out, threshold=a.threshold, max_ratio=a.max_ratio, soft=a.soft)
    print("test images above each confidence threshold:")
    for r in s["thresholds"]:
        print(f"  > {r['threshold']:.1f}: {r['images']:6d} ({r['share']:.0%})")
    print(f"\n{s['pseudo_images']} pseudo-labelled images (cap {s['cap']}, threshold {s['threshold']}) added for "
          f"training only -> {s['data']}")
    print("  per class: " + ", ".join(f"{c} {n}" for c, n in s["per_class"].items()))


def cmd_frames(a):
    from .video.frames import frames

    table = frames(a.inputs, a.out, every=a.every, fps=a.fps, count=a.count, start=a.start, end=a.end, max=a.max,
                   keyframes=a.keyframes, exact=a.exact, dedupe=a.dedupe, scene=a.scene, label=a.label,
                   labels=a.labels, fmt=a.format, quality=a.quality, workers=a.workers, backend=a.backend,
                   parts=a.parts)
    print(f"{len(table)} frames from {table['video'].nunique()} videos -> {a.out} (table: {Path(a.out) / 'frames.csv'})")


def cmd_denoise(a):
    from .denoising.filters import denoise

    table = denoise(a.inputs, a.out, method=a.method, sigma=a.sigma, strength=a.strength, model=a.model)
    bad = table[table["error"] != ""] if len(table) else table
    print(f"denoised {len(table) - len(bad)} of {len(table)} files with {a.method} -> {a.out}")
    for r in bad.itertuples():
        print(f"  skipped {r.file}: {r.error}", file=sys.stderr)
    if len(bad):
        raise ValueError(f"{len(bad)} file(s) could not be denoised (listed above)")


def cmd_denoise_train(a):
    from .denoising.n2n import train_denoiser

    res = train_denoiser(a.out, data=a.data, noise=a.noise, target=a.target, epochs=a.epochs, steps=a.steps,
                         batch_size=a.batch_size, patch=a.patch, base=a.base, depth=a.depth, lr=a.lr,
                         patience=a.patience, seed=a.seed, accelerator=a.accelerator, workers=a.workers,
                         clip_grad=a.clip_grad)
    print(f"saved {res['model']} (best val loss {res['best_val_loss']:.5f} after {res['epochs']} epochs)")


def cmd_denoise_eval(a):
    from .denoising.filters import evaluate

    table = evaluate(a.images, noise=a.noise, methods=a.methods.split(",") if a.methods else None, model=a.model,
                     out=a.out, seed=a.seed)
    summary = table.groupby("method", sort=False)[["psnr", "ssim", "sec_per_mp"]].mean()
    print(f"noise {table['noise'].iloc[0]}, {table['image'].nunique()} images\n")
    print(summary.to_string(float_format=lambda v: f"{v:.3f}"))
    if a.out:
        print(f"\ntable and side-by-side picture in {a.out}")


def _report_detections(table, out) -> None:
    print(f"{len(table)} detections in {table['img'].nunique() if len(table) else 0} files"
          + (f" -> {Path(out) / 'detections.csv'}" if out else ""))
    if len(table) and not out:
        print(table.to_string(index=False))
    errors = table.attrs.get("errors", [])
    for e in errors:
        print(f"  skipped {e}", file=sys.stderr)
    if errors:
        raise ValueError(f"{len(errors)} input(s) could not be read (listed above)")


def cmd_detect(a):
    from .detection import detectors as detect

    if a.what == "faces":
        t = detect.detect_faces(a.inputs, a.out, a.method or "haar", a.min_size, a.frame_step)
    elif a.what == "text":
        t = detect.detect_text(a.inputs, a.out, a.engine, a.lang, a.min_score, a.frame_step)
    else:
        t = detect.detect_people(a.inputs, a.out, a.model, a.classes, a.min_score, a.all_classes, a.frame_step)
    _report_detections(t, a.out)


def cmd_find(a):
    from .detection.detectors import find

    angles = [float(v) for v in a.angles.split(",")] if a.angles else [0.0]
    t = find(a.template, a.inputs, a.out, a.threshold, a.min_scale, a.max_scale, a.scales, angles, a.frame_step)
    _report_detections(t, a.out)


def cmd_background(a):
    from .detection.detectors import background

    t = background(a.inputs, a.out, a.method, a.frame_step, a.history, a.min_area)
    print(f"masks and cut-outs in {a.out}; foreground blobs:", end=" ")
    _report_detections(t, a.out)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tamgu", description="Image AI the Kaggle way: chapter 5 of 머신러닝 탐구생활 and more.")
    p.add_argument("-v", "--verbose", action="store_true", help="log details")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("synth", help="write a generated dataset in the Kaggle State Farm layout")
    s.add_argument("out", help="output folder")
    s.add_argument("--drivers", type=int, default=26, help="training drivers (default 26, named like p002)")
    s.add_argument("--per-class", type=int, default=10, help="images per driver and class (default 10)")
    s.add_argument("--test", type=int, default=500, help="test images (default 500)")
    s.add_argument("--test-drivers", type=int, default=5, help="drivers seen only in test (default 5)")
    s.add_argument("--image-size", default="160x120", help="WxH (default 160x120, the 4:3 of the real 640x480)")
    s.add_argument("--seed", type=int, default=0, help="the same seed writes the same dataset (default 0)")
    s.set_defaults(func=cmd_synth)

    s = sub.add_parser("check", help="validate a dataset and print its summary")
    s.add_argument("data", help="Kaggle folder, Kaggle .zip, or class-per-folder image set")
    s.add_argument("--groups", help="CSV with img,group (class-per-folder sets)")
    s.add_argument("--classes", help="comma-separated class names the folders must match")
    s.add_argument("--no-decode", action="store_true", help="skip decoding every image (faster, misses corrupt ones)")
    s.set_defaults(func=cmd_check)

    s = sub.add_parser("eda", help="exploratory analysis: counts, driver x class table, sample images")
    s.add_argument("data", help="dataset (Kaggle folder or zip, or class-per-folder set)")
    s.add_argument("--out", required=True, help="eda.html for one page to open in a browser; else a folder for eda.md and figures")
    s.add_argument("--groups", help="CSV with img,group (class-per-folder sets)")
    s.add_argument("--samples", type=int, default=6, help="sample images per class (default 6)")
    s.set_defaults(func=cmd_eda)

    s = sub.add_parser("augment-preview", help="a grid of training images and their augmented versions")
    s.add_argument("data", help="dataset (Kaggle folder or zip, or class-per-folder set)")
    s.add_argument("--out", required=True, help="PNG file for the grid")
    s.add_argument("--augment", choices=["book", "light"], default="book", help="which augmentation (default book)")
    s.add_argument("--image-size", default="224", help="size the model sees, as in tamgu train (default 224)")
    s.add_argument("--images", type=int, default=4, help="training images (rows, default 4)")
    s.add_argument("--versions", type=int, default=5, help="augmented versions of each (default 5)")
    s.add_argument("--groups", help="CSV with img,group (class-per-folder sets)")
    s.add_argument("--seed", type=int, default=0, help="which images and which augmentations (default 0)")
    s.set_defaults(func=cmd_augment_preview)

    s = sub.add_parser("train", help="cross-validate a model, predict the test set, write a submission")
    s.add_argument("data", nargs="?", help="dataset (or set data: in --config)")
    s.add_argument("--out", help="run folder (default runs/<config name>)")
    s.add_argument("--fresh", action="store_true", help="discard a run already in --out and start again")
    _train_options(s)
    s.set_defaults(func=cmd_train)

    s = sub.add_parser("env", help="what this machine has: versions, CPU/GPU, offline ImageNet weights, caches")
    s.set_defaults(func=cmd_env)

    s = sub.add_parser("samples", help="real photos and videos that ship offline, copied into one folder for practice")
    s.add_argument("out", help="folder for photos/, videos/ and samples.csv")
    s.set_defaults(func=cmd_samples)

    s = sub.add_parser("report", help="a run, an ensemble or a reproduce folder as one HTML page (curves, errors, Grad-CAM)")
    s.add_argument("run", help="run folder (tamgu train), ensemble folder (tamgu ensemble) or tamgu reproduce folder")
    s.add_argument("--out", help="the page (default RUN/report.html)")
    s.add_argument("--worst", type=int, default=12, help="confidently wrong OOF images to show (default 12)")
    s.add_argument("--no-gradcam", action="store_true", help="skip the Grad-CAM heat maps (faster)")
    s.set_defaults(func=cmd_report)

    s = sub.add_parser("collect", help="assemble a run whose folds were trained on separate machines (--fold K)")
    s.add_argument("run", help="run folder holding every fold<k>/ folder")
    s.set_defaults(func=cmd_collect)

    s = sub.add_parser("predict", help="re-predict test images with a trained run")
    s.add_argument("run", help="run folder written by tamgu train")
    s.add_argument("--data", help="dataset whose test images to predict (default: the run's)")
    s.add_argument("--out", help="submission file (default RUN/submission.csv)")
    _train_options(s, predict_only=True)
    s.set_defaults(func=cmd_predict)

    s = sub.add_parser("score", help="log loss and accuracy of a submission against labelled images")
    s.add_argument("submission")
    s.add_argument("--truth", required=True, help="labelled dataset (Kaggle layout or class folders)")
    s.add_argument("--groups", help="CSV with img,group (class-per-folder sets)")
    s.set_defaults(func=cmd_score)

    s = sub.add_parser("ensemble", help="blend finished runs (prediction files only), optionally calibrated")
    s.add_argument("runs", nargs="+", help="run folders (tamgu train, ensemble or smooth outputs)")
    s.add_argument("--out", required=True, help="folder for the blend (a run folder itself)")
    s.add_argument("--method", default="mean", choices=["mean", "geometric", "weighted", "per-class", "rank"],
                   help="mean (default), geometric, weighted (fitted on OOF), per-class (weight per class), rank")
    s.add_argument("--weights", help="fixed weights for mean/geometric, e.g. 0.33,0.33,0.33")
    s.add_argument("--temperature", action="store_true", help="fit a temperature on OOF and apply it to test")
    s.add_argument("--clip", help="clip probabilities to LO,HI (e.g. 0.005,0.95)")
    s.add_argument("--truth", help="held-out test labels (default: the members')")
    s.set_defaults(func=cmd_ensemble)

    s = sub.add_parser("smooth", help="blend each prediction with its nearest test neighbours' (1st place)")
    s.add_argument("run", help="run or ensemble folder")
    s.add_argument("--out", required=True, help="folder for the smoothed predictions")
    s.add_argument("--k", type=int, help="neighbours (default: chosen on OOF from 0,1,2,3,5,10,20)")
    s.add_argument("--alpha", type=float, help="weight of the neighbours (default: chosen on OOF)")
    s.add_argument("--truth", help="held-out test labels (default: the run's)")
    s.add_argument("--accelerator", default="auto", help="for computing features: cpu, gpu or auto")
    s.set_defaults(func=cmd_smooth)

    s = sub.add_parser("pseudo", help="a new dataset with confident test images as train-only images")
    s.add_argument("run", help="run or ensemble folder whose test predictions label the images")
    s.add_argument("--data", required=True, help="the dataset the run was trained on")
    s.add_argument("--out", required=True, help="folder for the new dataset")
    s.add_argument("--threshold", type=float, default=0.9, help="least confidence (default 0.9)")
    s.add_argument("--max-ratio", type=float, default=0.5, help="most pseudo images per training image (default 0.5)")
    s.add_argument("--soft", action="store_true", help="train on the predicted distribution, not its argmax")
    s.set_defaults(func=cmd_pseudo)

    s = sub.add_parser("reproduce", help="run the book's chapter 5 steps in order and write the results table")
    s.add_argument("chapter", choices=["chapter5"], help="which chapter (chapter5)")
    s.add_argument("--data", help="dataset (Kaggle zip or folder); with --small and no --data, a generated one")
    s.add_argument("--out", default="runs/chapter5", help="folder for every step's run and results.md/.csv")
    s.add_argument("--small", action="store_true", help="CPU-sized: MobileNetV2 at 96 px, tamgu's recipe (~15 min)")
    s.add_argument("--steps", help="only these steps, e.g. 1,3,6_efficientnet_lite0 (default all)")
    s.add_argument("--epochs", type=int, help="override every step's most epochs per fold")
    s.add_argument("--accelerator", help="cpu, gpu or auto")
    s.add_argument("--devices", help="Lightning devices")
    s.add_argument("--workers", type=int, help="data-loading processes")
    s.set_defaults(func=cmd_reproduce)

    s = sub.add_parser("frames", help="cut frames out of videos into a dataset (the video is the group)")
    s.add_argument("inputs", nargs="+", help="video files or folders of videos")
    s.add_argument("--out", required=True, help="output folder")
    when = s.add_mutually_exclusive_group()
    when.add_argument("--every", help="time between frames: 1s (default), 500ms, 2m")
    when.add_argument("--fps", type=float, help="frames per second of video time")
    when.add_argument("--count", type=int, help="this many frames per video, spread evenly")
    s.add_argument("--start", help="start time (e.g. 10s or 00:01:30)")
    s.add_argument("--end", help="end time")
    s.add_argument("--max", type=int, help="at most this many frames per video")
    s.add_argument("--keyframes", action="store_true", help="decode keyframes only: fast previews")
    s.add_argument("--exact", action="store_true", help="decode every frame (default skips unreferenced frames: "
                   "at most one frame off, much faster)")
    s.add_argument("--dedupe", type=int, nargs="?", const=4, help="skip near-duplicates: max perceptual-hash "
                   "distance of 64 bits (default 4)")
    s.add_argument("--scene", type=float, nargs="?", const=0.4, help="keep one frame per scene: histogram "
                   "distance for a cut (default 0.4)")
    lab = s.add_mutually_exclusive_group()
    lab.add_argument("--label", help="class folder for every frame")
    lab.add_argument("--labels", help="CSV video,label sorting videos into class folders")
    s.add_argument("--format", choices=["jpg", "png"], default="jpg")
    s.add_argument("--quality", type=int, default=90, help="JPEG quality (default 90)")
    s.add_argument("--workers", type=int, default=2, help="videos processed in parallel (default 2)")
    s.add_argument("--parts", type=int, help="stretches of one video, cut at keyframes, decoded side by side "
                   "(default 4 per core; 1 = one pass)")
    s.add_argument("--backend", choices=["auto", "pyav", "opencv"], default="auto")
    s.set_defaults(func=cmd_frames)

    s = sub.add_parser("denoise", help="denoise images, folders or videos (also: denoise train, denoise eval)")
    s.add_argument("inputs", nargs="+", help="image files, folders or videos")
    s.add_argument("--out", required=True, help="output folder (same file names; videos become .mp4)")
    s.add_argument("--method", default="nlm", choices=["nlm", "bilateral", "median", "gaussian", "tv", "wavelet",
                                                       "bm3d", "n2n"], help="default nlm")
    s.add_argument("--sigma", type=float, help="noise sigma in 0..255 units (default: estimated per image)")
    s.add_argument("--strength", type=float, default=1.0, help="multiplies the method's default setting")
    s.add_argument("--model", help="trained Noise2Noise model (.pt) for --method n2n")
    s.set_defaults(func=cmd_denoise)

    s = sub.add_parser("denoise-train", help="train a Noise2Noise U-Net (`tamgu denoise train` works too)")
    s.add_argument("--out", required=True, help="model file to write (.pt)")
    s.add_argument("--data", help="DIR with a/ and b/ (two noisy captures per scene) or a static video; "
                   "default: scikit-image photos with synthetic noise")
    s.add_argument("--noise", default="gaussian:5-50", help="synthetic noise: gaussian:5-50 (default), poisson:30, "
                   "speckle:25, saltpepper:0.05")
    s.add_argument("--target", choices=["noisy", "clean"], default="noisy", help="noisy = Noise2Noise (default); "
                   "clean = Noise2Clean, for comparison")
    s.add_argument("--epochs", type=int, default=20)
    s.add_argument("--steps", type=int, default=200, help="batches per epoch (default 200)")
    s.add_argument("--batch-size", type=int, default=16)
    s.add_argument("--patch", type=int, default=64, help="training patch size (default 64)")
    s.add_argument("--base", type=int, default=32, help="U-Net width (default 32)")
    s.add_argument("--depth", type=int, default=3, help="U-Net levels (default 3)")
    s.add_argument("--lr", type=float, default=1e-3)
    s.add_argument("--patience", type=int, default=5, help="early stopping on validation loss")
    s.add_argument("--clip-grad", type=float, default=1.0, help="clip the gradient norm (default 1: only "
                   "spikes; 0 = off)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--accelerator", default="auto")
    s.add_argument("--workers", type=int, default=0)
    s.set_defaults(func=cmd_denoise_train)

    s = sub.add_parser("denoise-eval", help="compare denoisers: PSNR, SSIM, time (`tamgu denoise eval` works too)")
    s.add_argument("--images", help="folder of clean images (default: scikit-image's evaluation photos)")
    s.add_argument("--noise", default="gaussian:25", help="noise added with a fixed seed (default gaussian:25)")
    s.add_argument("--methods", help="comma-separated (default: every available one)")
    s.add_argument("--model", help="a trained Noise2Noise model to include as n2n")
    s.add_argument("--out", help="folder for results.csv, results.md and side_by_side.png")
    s.add_argument("--seed", type=int, default=0)
    s.set_defaults(func=cmd_denoise_eval)

    for what, helptext in [("faces", "faces: Haar (default) or MTCNN"), ("text", "text: RapidOCR, or Tesseract "
                           "for Korean"), ("people", "people: HOG, or your ONNX detector with --model")]:
        s = sub.add_parser(f"detect-{what}", help=f"`tamgu detect {what}`: {helptext}")
        s.add_argument("inputs", nargs="+", help="images, folders or videos")
        s.add_argument("--out", help="folder for annotated images and detections.csv/.json")
        s.add_argument("--frame-step", type=int, default=1, help="videos: every Nth frame (default 1)")
        s.set_defaults(func=cmd_detect, what=what, method=None, min_size=30, engine="auto", lang="en",
                       model=None, classes=None, all_classes=False, min_score=0.5)
        if what == "faces":
            s.add_argument("--method", choices=["haar", "mtcnn", "mediapipe"], help="default haar")
            s.add_argument("--min-size", type=int, default=30, help="smallest face, pixels (default 30)")
        if what == "text":
            s.add_argument("--engine", choices=["auto", "rapidocr", "tesseract"], default="auto")
            s.add_argument("--lang", default="en", help="en (default) or ko (Tesseract kor)")
        if what == "people":
            s.add_argument("--model", help="ONNX detector (YOLOv5/v8 layout), run with OpenCV DNN")
            s.add_argument("--classes", help="its class names, one per line (default: COCO's 80)")
            s.add_argument("--all-classes", action="store_true", help="keep every class, not only person")
        if what in ("text", "people"):
            s.add_argument("--min-score", type=float, default=0.5)

    s = sub.add_parser("find", help="find a template image inside images or videos, at any scale")
    s.add_argument("template", help="the image to look for")
    s.add_argument("inputs", nargs="+", help="images, folders or videos")
    s.add_argument("--out", help="folder for annotated images and detections.csv/.json")
    s.add_argument("--threshold", type=float, default=0.8, help="normalised correlation to count (default 0.8)")
    s.add_argument("--min-scale", type=float, default=0.5)
    s.add_argument("--max-scale", type=float, default=2.0)
    s.add_argument("--scales", type=int, default=13, help="scales tried between min and max (default 13)")
    s.add_argument("--angles", help="comma-separated rotations in degrees, e.g. -10,0,10 (default 0)")
    s.add_argument("--frame-step", type=int, default=1)
    s.set_defaults(func=cmd_find)

    s = sub.add_parser("background", help="foreground masks and cut-outs: videos (MOG2/KNN), photos (GrabCut)")
    s.add_argument("inputs", nargs="+", help="videos or photos")
    s.add_argument("--out", required=True)
    s.add_argument("--method", choices=["auto", "mog2", "knn", "grabcut"], default="auto")
    s.add_argument("--frame-step", type=int, default=1, help="videos: save every Nth frame's mask")
    s.add_argument("--history", type=int, default=200, help="frames the background model remembers")
    s.add_argument("--min-area", type=int, default=200, help="smallest foreground blob, pixels")
    s.set_defaults(func=cmd_background)

    s = sub.add_parser("demo", help="the main job on a generated dataset: 5-fold driver split on CPU in minutes")
    s.add_argument("--out", default="runs/demo", help="folder for the data and the run (default runs/demo)")
    s.add_argument("--accelerator", default="auto", help="cpu, gpu or auto")
    s.add_argument("--workers", type=int, default=0, help="data-loading processes (default 0: tiny images decode fast)")
    s.set_defaults(func=cmd_demo)
    return p


def main(argv: list[str] | None = None) -> int:
    from .pipeline.data import DataError
    from .video.frames import VideoError

    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) >= 2 and (argv[0], argv[1]) in {("denoise", "train"), ("denoise", "eval"), ("detect", "faces"),
                                                  ("detect", "text"), ("detect", "people")}:
        argv = [f"{argv[0]}-{argv[1]}"] + argv[2:]  # `tamgu denoise train`, `tamgu detect faces`: two-word commands
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        args.func(args)
    except (DataError, ConfigError, VideoError, ValueError, FileNotFoundError, RuntimeError) as e:
        print(f"tamgu {args.command}: error: {e}", file=sys.stderr)
        return 1
    except (FileExistsError, NotADirectoryError) as e:  # mkdir of an output folder where a file is
        print(f"tamgu {args.command}: error: {e.filename} is a file, so it cannot hold outputs: choose another --out "
              "(nothing was written).", file=sys.stderr)
        return 1
    except OSError as e:  # a full disk, a read-only folder...
        where = f" {e.filename}" if getattr(e, "filename", None) else ""
        print(f"tamgu {args.command}: error: cannot read or write{where}: {e.strerror or e}. Free some space, fix the "
              "permissions or choose another --out; outputs are written atomically, so earlier ones are intact.",
              file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: rerun the same command to resume", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
