"""tamgu's data path and recipe against a plain PyTorch loop, in one run, on the same data, model and weights.

Run by hand, not in CI (about 27 minutes on 2 CPU cores with the defaults):

    .venv/bin/python benchmarks/plain_vs_tamgu.py            # results tables on stdout, copy to docs/benchmarks.md

The plain loop is what a competent user writes in an afternoon: a Dataset that opens each JPEG with PIL
every epoch and resizes it, the default DataLoader (shuffle, 2 workers), AdamW at a constant 1e-3, the
weights of the last epoch, and test prediction fold by fold, each fold decoding the test images afresh.
tamgu is `tamgu.train` with its defaults. Both start from the same ImageNet MobileNetV2 weights and train
the same epochs with the same batch size on the same driver folds of generated sets at the real
competition's 640x480. Reported:

- training images per second over one fold's epochs: the median of `--rounds` rounds that alternate the two
  sides, so that both see the same machine. tamgu cold = its image cache emptied first, the cache fill
  counted; warm = filled by an earlier run (every fold after the first, every later run);
- 5-fold test prediction, images per second, the same way (cold = each test image decoded once for all
  folds, counted);
- held-out test log loss (the private leaderboard: test drivers no model trained on) of each side's
  fold-mean submission, on `--seeds` generated sets (a new set of drivers each), and their mean: one set's
  held-out drivers are a noisy judge (a single misread clip can move the score by a third).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import lightning as L
import numpy as np
import pandas as pd
import timm
import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import DataLoader, Dataset

import tamgu
from tamgu.console import quiet_lightning
from tamgu.pipeline.config import load_config
from tamgu.pipeline.data import load_dataset, read_truth, truth_path
from tamgu.pipeline.folds import make_folds
from tamgu.pipeline.metrics import score_frame
from tamgu.pipeline.inference import predict_folds
from tamgu.pipeline.module import Classifier
from tamgu.pipeline.table import fold_mean as blend_folds
from tamgu.pipeline.loaders import make_loader
from tamgu.pipeline.training import SeedByEpoch
from tamgu.pipeline.weights import load_weights, resolve_weights
from tamgu.runtime import processor

MODEL = "mobilenetv2_100"


class PlainImages(Dataset):
    """PIL decode + resize on every access, ImageNet normalisation: the tutorial way."""

    def __init__(self, paths, labels, size, mean, std):
        self.paths, self.labels, self.size = list(paths), labels, size
        self.mean, self.std = torch.tensor(mean).view(3, 1, 1), torch.tensor(std).view(3, 1, 1)

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        img = Image.open(self.paths[i]).convert("RGB").resize(self.size, Image.BILINEAR)
        x = torch.from_numpy(np.asarray(img).copy()).permute(2, 0, 1).float() / 255
        return (x - self.mean) / self.std, (self.labels[i] if self.labels is not None else -1)


def plain_model(num_classes):
    model = timm.create_model(MODEL, num_classes=num_classes)
    load_weights(model, resolve_weights(MODEL, "imagenet"))
    return model


def plain_train(tr, size, epochs, mean, std, workers, batch_size):
    model = plain_model(10)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    loader = DataLoader(PlainImages(tr["path"], tr["y"].tolist(), size, mean, std), batch_size=batch_size,
                        shuffle=True, num_workers=workers)
    seen, t0 = 0, time.perf_counter()
    model.train()
    for _ in range(epochs):
        for x, y in loader:
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            seen += len(y)
    return model, seen / (time.perf_counter() - t0)


def plain_predict(models, test, size, mean, std, workers):
    frames, t0 = [], time.perf_counter()
    for k, model in models.items():  # fold by fold, each decoding every test image again
        model.eval()
        loader = DataLoader(PlainImages(test["path"], None, size, mean, std), batch_size=64, num_workers=workers)
        with torch.no_grad():
            probs = torch.cat([F.softmax(model(x), 1) for x, _ in loader]).numpy()
        df = pd.DataFrame(probs, columns=[f"c{i}" for i in range(10)])
        df.insert(0, "img", test["img"].tolist())
        df.insert(1, "fold", k)
        frames.append(df)
    return pd.concat(frames), len(test) * len(models) / (time.perf_counter() - t0)


def tamgu_train_speed(tr, cfg, epochs, cache: Path | None) -> float:
    """Images per second of Lightning fitting tamgu's module on tamgu's loader (no validation), counted from
    before the loader is built, so a cold run pays for filling the cache. `cache` given: emptied first."""
    if cache is not None:
        shutil.rmtree(cache, ignore_errors=True)
    module = Classifier.from_config(cfg, [f"c{i}" for i in range(10)])
    seeding = SeedByEpoch(cfg.seed)
    trainer = L.Trainer(max_epochs=epochs, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, limit_val_batches=0, accelerator="cpu", callbacks=[seeding])
    t0 = time.perf_counter()
    loader = make_loader(tr["path"].tolist(), tr["y"].tolist(), cfg, train=True, seed=cfg.seed, epoch=seeding.epoch)
    trainer.fit(module, loader)
    return len(loader) * cfg.batch_size * epochs / (time.perf_counter() - t0)


def _change(new: float, old: float) -> str:
    r = new / old - 1
    return f"{-r:.0%} lower" if r < 0 else f"{r:.0%} higher"


def make_data(root: Path, seed: int, test: int, test_drivers: int) -> Path:
    data = root / f"data{seed}"
    if not (data / "driver_imgs_list.csv").exists():
        tamgu.synth(data, drivers=12, per_class=5, test=test, test_drivers=test_drivers, image_size="640x480",
                    seed=seed)
    return data


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--image-size", default="96x72")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--workers", type=int, default=2, help="DataLoader workers for both sides")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="generated sets judged (data seeds)")
    p.add_argument("--test", type=int, default=800, help="test images per generated set")
    p.add_argument("--test-drivers", type=int, default=8)
    p.add_argument("--rounds", type=int, default=3, help="alternating speed rounds; the median is reported")
    p.add_argument("--keep", help="keep the data and runs in this folder")
    a = p.parse_args()
    quiet_lightning()
    root = Path(a.keep or tempfile.mkdtemp(prefix="tamgu-bench-"))
    cache = root / "cache"
    os.environ["TAMGU_CACHE"] = str(cache)
    w, h = (int(v) for v in a.image_size.split("x"))
    src = resolve_weights(MODEL, "imagenet")
    # tamgu's defaults, but for what both sides share: weights, size, epochs, batch, folds, workers
    common = dict(model=MODEL, weights="imagenet", image_size=a.image_size, epochs=a.epochs, folds=a.folds,
                  batch_size=a.batch_size, workers=a.workers, accelerator="cpu", patience=a.epochs)
    cfg = load_config(**common)
    print(f"{processor()}, {os.cpu_count()} cores, torch {torch.__version__}; "
          f"per set 600 train images (12 drivers) and {a.test} test images ({a.test_drivers} other drivers) at "
          f"640x480; {MODEL} at {a.image_size}, {a.epochs} epochs, batch {a.batch_size}, {a.folds} driver folds, "
          f"{a.workers} loader workers; tamgu: augment {cfg.augment}, head init {cfg.head_init}, schedule {cfg.schedule}, "
          f"best epoch by validation loss\n")

    # speed, on the first set: alternate the sides, report medians
    data = make_data(root, a.seeds[0], a.test, a.test_drivers)
    ds = load_dataset(data)
    folds = make_folds(ds.train, "driver", a.folds, cfg.seed)
    tr0 = folds[folds["fold"] != 0]
    speed: dict[str, list[float]] = {k: [] for k in ("plain", "cold", "warm", "p_plain", "p_cold", "p_warm")}
    plain_models = {k: plain_model(10) for k in range(a.folds)}  # prediction speed does not depend on training
    tamgu_modules = {k: Classifier.from_config(cfg, ds.classes).eval() for k in range(a.folds)}
    for _ in range(a.rounds):
        speed["plain"].append(plain_train(tr0, (w, h), a.epochs, src.mean, src.std, a.workers, a.batch_size)[1])
        speed["cold"].append(tamgu_train_speed(tr0, cfg, a.epochs, cache))
        speed["warm"].append(tamgu_train_speed(tr0, cfg, a.epochs, None))
        speed["p_plain"].append(plain_predict(plain_models, ds.test, (w, h), src.mean, src.std, a.workers)[1])
        for state in ("cold", "warm"):
            if state == "cold":
                shutil.rmtree(cache, ignore_errors=True)
            t0 = time.perf_counter()
            predict_folds(tamgu_modules, ds.test["path"].tolist(), ds.test["img"].tolist(), cfg)
            speed[f"p_{state}"].append(len(ds.test) * a.folds / (time.perf_counter() - t0))
    med = {k: statistics.median(v) for k, v in speed.items()}
    spread = {k: f"{min(v):.0f}-{max(v):.0f}" for k, v in speed.items()}
    rows = [
        ("training images/s (one fold)", f"{med['plain']:.0f} ({spread['plain']})",
         f"{med['cold']:.0f} cold ({spread['cold']}), {med['warm']:.0f} warm ({spread['warm']})",
         f"{med['cold'] / med['plain']:.2f}x cold, {med['warm'] / med['plain']:.2f}x warm"),
        (f"{a.folds}-fold test prediction images/s", f"{med['p_plain']:.0f} ({spread['p_plain']})",
         f"{med['p_cold']:.0f} cold ({spread['p_cold']}), {med['p_warm']:.0f} warm ({spread['p_warm']})",
         f"{med['p_cold'] / med['p_plain']:.2f}x cold, {med['p_warm'] / med['p_plain']:.2f}x warm"),
    ]
    print(f"Speed: median of {a.rounds} alternating rounds (range in brackets)\n")
    print(pd.DataFrame(rows, columns=["measure", "plain loop", "tamgu", "tamgu vs plain"]).to_markdown(index=False))

    # quality: whole cross-validation on each set, both sides, judged on its held-out drivers
    quality = []
    for seed in a.seeds:
        data = make_data(root, seed, a.test, a.test_drivers)
        ds = load_dataset(data)
        truth = read_truth(truth_path(data), ds.classes)
        folds = make_folds(ds.train, "driver", a.folds, cfg.seed)
        torch.manual_seed(seed)
        t0 = time.perf_counter()
        plain = {k: plain_train(folds[folds["fold"] != k], (w, h), a.epochs, src.mean, src.std, a.workers,
                                a.batch_size)[0] for k in range(a.folds)}
        plain_pred, _ = plain_predict(plain, ds.test, (w, h), src.mean, src.std, a.workers)
        plain_min = (time.perf_counter() - t0) / 60
        plain_held = score_frame(blend_folds(plain_pred, ds.classes), truth, ds.classes)
        t0 = time.perf_counter()
        s = tamgu.train(data, out=root / f"tamgu_run{seed}", fresh=True, **common)
        tamgu_min = (time.perf_counter() - t0) / 60
        quality.append(dict(seed=seed, plain=plain_held["log_loss"], plain_acc=plain_held["accuracy"],
                            tamgu=s["heldout"]["log_loss"], tamgu_acc=s["heldout"]["accuracy"],
                            tamgu_oof=s["oof"]["log_loss"], plain_min=plain_min, tamgu_min=tamgu_min))
    q = pd.DataFrame(quality)
    rows = [(f"set {r.seed}", f"{r.plain:.4f} ({r.plain_acc:.3f})", f"{r.tamgu:.4f} ({r.tamgu_acc:.3f})",
             _change(r.tamgu, r.plain), f"{r.tamgu_oof:.4f}", f"{r.plain_min:.1f} / {r.tamgu_min:.1f}")
            for r in q.itertuples()]
    rows.append(("mean", f"{q.plain.mean():.4f} ({q.plain_acc.mean():.3f})",
                 f"{q.tamgu.mean():.4f} ({q.tamgu_acc.mean():.3f})", _change(q.tamgu.mean(), q.plain.mean()),
                 f"{q.tamgu_oof.mean():.4f}", f"{q.plain_min.mean():.1f} / {q.tamgu_min.mean():.1f}"))
    print(f"\nHeld-out test log loss (accuracy) of the fold-mean submission, {a.test_drivers} unseen drivers a set\n")
    print(pd.DataFrame(rows, columns=["generated set (seed)", "plain loop", "tamgu", "tamgu vs plain",
                                      "tamgu OOF (driver CV)", "CV minutes plain / tamgu"]).to_markdown(index=False))


if __name__ == "__main__":
    main()
