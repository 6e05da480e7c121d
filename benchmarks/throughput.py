"""Training and prediction throughput (images per second) on generated State Farm data.

Run by hand, not in CI:

    .venv/bin/python benchmarks/throughput.py --models test_resnet resnet18 --image-size 96x72
    .venv/bin/python benchmarks/throughput.py --models vgg16 --head book --image-size 224 --batches 3

Training = data loading + forward + backward + optimiser step through the same DataLoader and model
as `tamgu train`; prediction = the inference loop on the test images, as `tamgu predict` runs it. Every
model runs in the same process on the same images, so the ratios between rows are what to quote.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path

import torch

from tamgu.pipeline.config import load_config
from tamgu.pipeline.data import load_dataset
from tamgu.pipeline.synthetic import synth
from tamgu.pipeline.inference import predict_folds
from tamgu.pipeline.module import Classifier
from tamgu.pipeline.loaders import make_loader
from tamgu.runtime import processor


def bench(model: str, head: str, data: Path, image_size: str, batch_size: int, batches: int, workers: int) -> dict:
    cfg = load_config(model=model, head=head, weights="none", image_size=image_size, batch_size=batch_size,
                      workers=workers, accelerator="cpu")  # speed only: random weights suffice
    ds = load_dataset(data)
    module = Classifier.from_config(cfg, ds.classes)
    opt = torch.optim.AdamW(module.parameters(), lr=1e-3)
    loader = make_loader(ds.train["path"].tolist(), ds.train["y"].tolist(), cfg, train=True)
    module.train()
    seen, t0 = 0, None
    for i, (x, y, _) in enumerate(loader):
        if i == 1:  # the first batch pays for worker start-up and lazy init
            t0, seen = time.perf_counter(), 0
        loss = torch.nn.functional.cross_entropy(module(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        seen += len(y)
        if i >= batches:
            break
    train_ips = seen / (time.perf_counter() - t0)
    n_pred = min(len(ds.test), batch_size * 2 * batches)
    t0 = time.perf_counter()
    predict_folds({0: module.eval()}, ds.test["path"].tolist()[:n_pred], ds.test["img"].tolist()[:n_pred], cfg)
    pred_ips = n_pred / (time.perf_counter() - t0)
    params = sum(p.numel() for p in module.parameters()) / 1e6
    return {"model": model, "head": head, "params_M": params, "train_ips": train_ips, "predict_ips": pred_ips}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", nargs="+", default=["test_resnet", "resnet18", "resnet50"])
    p.add_argument("--head", default="timm", choices=["timm", "book"])
    p.add_argument("--image-size", default="96x72")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--batches", type=int, default=10, help="timed training batches per model")
    p.add_argument("--workers", type=int, default=0)
    p.add_argument("--data", help="dataset to use (default: a generated one at the benchmark's image size)")
    a = p.parse_args()
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(a.data) if a.data else synth(Path(tmp) / "data", drivers=10, per_class=4, test=400,
                                                 test_drivers=2, image_size=a.image_size, seed=0)
        rows = [bench(m, a.head, data, a.image_size, a.batch_size, a.batches, a.workers) for m in a.models]
    print(f"\n{processor()}, {torch.get_num_threads()} threads, torch {torch.__version__}, "
          f"image {a.image_size}, batch {a.batch_size}, workers {a.workers}\n")
    base = rows[0]
    print("| model | head | weights (M) | train img/s | predict img/s | train vs first row |")
    print("|---|---|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['model']} | {r['head']} | {r['params_M']:.2f} | {r['train_ips']:.0f} | {r['predict_ips']:.0f} | "
              f"{r['train_ips'] / base['train_ips']:.2f}x |")


if __name__ == "__main__":
    main()
