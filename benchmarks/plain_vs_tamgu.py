"""tamgu's data path and recipe against a plain PyTorch loop, in one run, on the same data, model and weights.

Run by hand, not in CI (a few minutes on 2 CPU cores):

    .venv/bin/python benchmarks/plain_vs_tamgu.py            # results table on stdout, copy to docs/benchmarks.md

The plain loop is what a competent user writes in an afternoon: a Dataset that opens each JPEG with PIL
every epoch and resizes it, the default DataLoader (shuffle, 2 workers), AdamW at a constant 1e-3, the
weights of the last epoch, and test prediction fold by fold, each fold decoding the test images afresh.
Both sides start from the same ImageNet MobileNetV2 weights and train the same epochs on the same driver
folds of a generated set at the real competition's 640x480. Reported:

- training images per second (training epochs only; tamgu cold = its cache empty, warm = filled by an
  earlier run, as every fold after the first and every later run sees it);
- 5-fold test prediction, images per second (tamgu cold = each test image decoded once for all folds;
  warm = from the cache);
- held-out test log loss (private leaderboard) of each side's fold-mean submission.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
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
from tamgu.pipeline.training import Classifier, blend_folds, make_loader, predict_folds
from tamgu.pipeline.weights import load_weights, resolve_weights

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


def plain_train(tr, size, epochs, mean, std, workers):
    model = plain_model(10)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    loader = DataLoader(PlainImages(tr["path"], tr["y"].tolist(), size, mean, std), batch_size=32, shuffle=True,
                        num_workers=workers)
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


def tamgu_train_speed(tr, cfg, epochs):
    """Images per second of Lightning fitting tamgu's module on tamgu's loader (no validation)."""
    module = Classifier.from_config(cfg, [f"c{i}" for i in range(10)])
    loader = make_loader(tr["path"].tolist(), tr["y"].tolist(), cfg, train=True)  # fills or reads the cache
    trainer = L.Trainer(max_epochs=epochs, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, limit_val_batches=0, accelerator="cpu")
    t0 = time.perf_counter()
    trainer.fit(module, loader)
    return len(loader) * cfg.batch_size * epochs / (time.perf_counter() - t0)


def _change(new: float, old: float) -> str:
    r = new / old - 1
    return f"{-r:.0%} lower" if r < 0 else f"{r:.0%} higher"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--image-size", default="96x72")
    p.add_argument("--workers", type=int, default=2, help="DataLoader workers for both sides")
    p.add_argument("--keep", help="keep the data and runs in this folder")
    a = p.parse_args()
    quiet_lightning()
    torch.manual_seed(0)
    root = Path(a.keep or tempfile.mkdtemp(prefix="tamgu-bench-"))
    os.environ["TAMGU_CACHE"] = str(root / "cache")
    shutil.rmtree(root / "cache", ignore_errors=True)
    data = root / "data"
    if not (data / "driver_imgs_list.csv").exists():
        tamgu.synth(data, drivers=12, per_class=5, test=400, test_drivers=4, image_size="640x480", seed=0)
    ds = load_dataset(data)
    truth = read_truth(truth_path(data), ds.classes)
    w, h = (int(v) for v in a.image_size.split("x"))
    cfg = load_config(model=MODEL, weights="imagenet", image_size=a.image_size, epochs=a.epochs, folds=a.folds,
                      workers=a.workers, accelerator="cpu", patience=a.epochs, batch_size=32)
    folds = make_folds(ds.train, "driver", a.folds, cfg.seed)
    tr0 = folds[folds["fold"] != 0]
    src = resolve_weights(MODEL, "imagenet")
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}; "
          f"{len(ds.train)} train / {len(ds.test)} test images at 640x480, {MODEL} at {a.image_size}, "
          f"{a.epochs} epochs, {a.folds} driver folds\n")

    # 1. training speed, fold 0 only
    _, plain_ips = plain_train(tr0, (w, h), a.epochs, src.mean, src.std, a.workers)
    cold = tamgu_train_speed(tr0, cfg, a.epochs)
    warm = tamgu_train_speed(tr0, cfg, a.epochs)

    # 2 + 3. every fold on both sides, then test prediction and held-out scores
    plain_models, t0 = {}, time.perf_counter()
    for k in range(a.folds):
        plain_models[k], _ = plain_train(folds[folds["fold"] != k], (w, h), a.epochs, src.mean, src.std, a.workers)
    plain_minutes = (time.perf_counter() - t0) / 60
    plain_pred, plain_pred_ips = plain_predict(plain_models, ds.test, (w, h), src.mean, src.std, a.workers)
    plain_held = score_frame(blend_folds(plain_pred, ds.classes), truth, ds.classes)

    t0 = time.perf_counter()
    summary = tamgu.train(data, out=root / "tamgu_run", **cfg.model_dump(exclude={"data", "out", "name", "truth"}))
    tamgu_minutes = (time.perf_counter() - t0) / 60
    from tamgu.pipeline.prediction import load_checkpoint

    modules = {k: load_checkpoint(root / "tamgu_run" / f"fold{k}" / "best.ckpt") for k in range(a.folds)}
    pred_ips = {}
    for state in ("cold", "warm"):  # cold: the cache emptied first, so each test image is decoded once
        if state == "cold":
            shutil.rmtree(root / "cache", ignore_errors=True)
        t0 = time.perf_counter()
        predict_folds(modules, ds.test["path"].tolist(), ds.test["img"].tolist(), cfg)
        pred_ips[state] = len(ds.test) * a.folds / (time.perf_counter() - t0)

    rows = [
        ("training images/s (fold 0)", f"{plain_ips:.0f}", f"{cold:.0f} cold, {warm:.0f} warm",
         f"{cold / plain_ips:.2f}x cold, {warm / plain_ips:.2f}x warm"),
        (f"{a.folds}-fold test prediction images/s", f"{plain_pred_ips:.0f}",
         f"{pred_ips['cold']:.0f} cold, {pred_ips['warm']:.0f} warm",
         f"{pred_ips['cold'] / plain_pred_ips:.2f}x cold, {pred_ips['warm'] / plain_pred_ips:.2f}x warm"),
        ("held-out test log loss", f"{plain_held['log_loss']:.4f}", f"{summary['heldout']['log_loss']:.4f}",
         _change(summary['heldout']['log_loss'], plain_held['log_loss'])),
        ("held-out accuracy", f"{plain_held['accuracy']:.3f}", f"{summary['heldout']['accuracy']:.3f}", ""),
        ("OOF log loss (driver CV)", "–", f"{summary['oof']['log_loss']:.4f}", ""),
        ("whole cross-validation, minutes", f"{plain_minutes:.1f}", f"{tamgu_minutes:.1f}", ""),
    ]
    print(pd.DataFrame(rows, columns=["measure", "plain loop", "tamgu", "tamgu vs plain"]).to_markdown(index=False))


if __name__ == "__main__":
    main()
