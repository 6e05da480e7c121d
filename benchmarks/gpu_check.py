"""One command for the day a GPU is lent: speed at 224 px, and the checks that DDP and mixed precision change
nothing they should not. Exits 1 when a check fails.

    .venv/bin/python benchmarks/gpu_check.py             # on the GPU machine (under 10 minutes)
    .venv/bin/python benchmarks/gpu_check.py --dry-run   # here, on the CPU: the same steps, tiny

1. Speed, per model (MobileNetV2 and ResNet50 by default), at 224x224: training images/s (loader + forward +
   backward + step, AMP and channels-last as `tamgu train` uses them on a GPU) and prediction images/s
   (the inference loop `tamgu predict` runs), on one GPU; then the wall time of one fold of `tamgu train`
   on one GPU and on all of them (DDP), and the speed-up.
2. DDP: `tamgu train` on 1 device and on all devices (the per-device batch divided by the device count, so
   the optimisation is the same) must make the same folds.csv and an OOF log loss within DDP_TOLERANCE.
3. AMP: `--precision 16-mixed` against 32-true on one device: OOF log loss within AMP_TOLERANCE.

--dry-run runs every step on the CPU with a tiny model and images (2 CPU "devices" with gloo for DDP,
bf16-mixed for AMP), so a broken script is found before the GPU hours are booked.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import torch

from tamgu.pipeline.config import load_config
from tamgu.pipeline.data import load_dataset
from tamgu.pipeline.inference import predict_folds
from tamgu.pipeline.loaders import make_loader
from tamgu.pipeline.module import Classifier
from tamgu.pipeline.synthetic import synth
from tamgu.runtime import processor

# Stated tolerances (absolute OOF log loss). DDP splits each batch over devices: batch-norm statistics and
# the order of summation differ, so the loss moves a little; AMP rounds activations to 16 bits.
DDP_TOLERANCE, AMP_TOLERANCE = 0.05, 0.02


def speed(model: str, data: Path, size: str, batch: int, batches: int, accelerator: str, precision: str,
          weights: str = "none") -> dict:
    """Training and prediction images/s of `model` on one device, in this process."""
    cfg = load_config(model=model, weights=weights, image_size=size, batch_size=batch,
                      workers=4 if accelerator == "gpu" else 0, accelerator=accelerator)
    device = torch.device("cuda" if accelerator == "gpu" else "cpu")
    ds = load_dataset(data)
    module = Classifier.from_config(cfg, ds.classes).to(device)
    channels_last = device.type == "cuda"
    if channels_last:
        module = module.to(memory_format=torch.channels_last)
    dtype = torch.float16 if precision.startswith("16") else torch.bfloat16
    use_amp = precision != "32-true"
    opt = torch.optim.AdamW(module.parameters(), lr=1e-3)
    scaler = torch.amp.GradScaler(device.type, enabled=use_amp and dtype is torch.float16)
    loader = make_loader(ds.train["path"].tolist(), ds.train["y"].tolist(), cfg, train=True)
    module.train()
    seen, t0 = 0, None
    for i, (x, y, _) in enumerate(loader):
        if i == 2:  # the first batches pay for worker start-up, cudnn's search and lazy init
            if device.type == "cuda":
                torch.cuda.synchronize()
            t0, seen = time.perf_counter(), 0
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast(device.type, dtype=dtype, enabled=use_amp):
            loss = torch.nn.functional.cross_entropy(module(x), y)
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        seen += len(y)
        if i >= batches + 1:
            break
    if device.type == "cuda":
        torch.cuda.synchronize()
    train_ips = seen / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    predict_folds({0: module.cpu().eval()}, ds.test["path"].tolist(), ds.test["img"].tolist(), cfg)
    return {"model": model, "train_ips": round(train_ips, 1),
            "predict_ips": round(len(ds.test) / (time.perf_counter() - t0), 1)}


def train_run(data: Path, out: Path, common: list[str], extra: list[str]) -> tuple[float, dict]:
    """`tamgu train` in its own process (DDP relaunches the command it runs): wall seconds and the summary (with
    `_summaries_printed`: how many OOF summaries the processes printed; rank 0 alone should)."""
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "tamgu.cli", "train", str(data), "--out", str(out), *common,
                           *extra], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"tamgu train {' '.join(extra)} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
    summary = json.loads((out / "summary.json").read_text())
    summary["_summaries_printed"] = proc.stdout.count("  OOF ")
    return time.perf_counter() - t0, summary


def files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def checks(single: dict, multi: dict, same_folds: bool, fp32: dict, amp: dict,
           same_files: bool = True) -> list[tuple[str, bool, str]]:
    """(check, passed, detail) for the DDP and AMP comparisons. `same_files`: DDP's rank 0 alone wrote the files one
    device writes, and printed one summary (this was a test in the suite until it cost a minute of every run)."""
    d_ddp = abs(multi["oof"]["log_loss"] - single["oof"]["log_loss"])
    d_amp = abs(amp["oof"]["log_loss"] - fp32["oof"]["log_loss"])
    return [("DDP's rank 0 alone writes what one device writes, one summary", same_files,
             "same files, one summary" if same_files else "files or printed summaries differ"),
            ("DDP makes the same folds as one device", same_folds, "folds.csv identical" if same_folds else
             "folds.csv differs"),
            (f"DDP OOF log loss within {DDP_TOLERANCE} of one device", d_ddp <= DDP_TOLERANCE,
             f"{single['oof']['log_loss']:.4f} vs {multi['oof']['log_loss']:.4f} (difference {d_ddp:.4f})"),
            (f"AMP OOF log loss within {AMP_TOLERANCE} of 32-bit", d_amp <= AMP_TOLERANCE,
             f"{fp32['oof']['log_loss']:.4f} vs {amp['oof']['log_loss']:.4f} (difference {d_amp:.4f})")]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dry-run", action="store_true", help="every step on the CPU, tiny (no GPU needed)")
    ap.add_argument("--models", nargs="+", default=["mobilenetv2_100", "resnet50"])
    ap.add_argument("--work", type=Path, default=None, help="scratch folder (default: a temporary one)")
    a = ap.parse_args(argv)
    gpus = torch.cuda.device_count()
    if not a.dry_run and gpus == 0:
        print("no CUDA GPU is visible here: run with --dry-run to check the script on the CPU.", file=sys.stderr)
        return 2
    if a.dry_run:
        accel, devices, size, amp_precision = "cpu", 2, "48x36", "bf16-mixed"
        models, batch, batches, gen = ["test_resnet"], 16, 4, dict(drivers=6, per_class=6, test=40, test_drivers=2,
                                                                    image_size="64x48")
        # enough to learn something (an OOF well below the uniform 2.30), so the comparisons are not vacuous
        common = ["--model", "test_resnet", "--weights", "none", "--image-size", size, "--epochs", "5",
                  "--folds", "2", "--workers", "0", "--accelerator", "cpu", "--lr", "3e-3", "--patience", "5"]
    else:
        accel, devices, size, amp_precision = "gpu", gpus, "224", "16-mixed"
        models, batch, batches, gen = a.models, 64, 30, dict(drivers=12, per_class=20, test=600, test_drivers=3,
                                                             image_size="320x240")
        common = ["--model", "mobilenetv2_100", "--image-size", size, "--epochs", "3", "--folds", "2",
                  "--workers", "4", "--accelerator", "gpu"]
    name = torch.cuda.get_device_name(0) if gpus else processor()
    print(f"{'dry run on ' if a.dry_run else ''}{name}; {devices} device(s); torch {torch.__version__}", flush=True)
    with tempfile.TemporaryDirectory(prefix="tamgu-gpu-check-") as tmp:
        work = a.work or Path(tmp)
        data = synth(work / "data", seed=0, **gen)
        print(f"\nspeed at {size} px, one device ({amp_precision if accel == 'gpu' else '32-true'}):")
        for m in models:
            # speed only: random weights time the same as ImageNet ones (and resnet50's need no fetch)
            r = speed(m, data, size, batch, batches, accel, amp_precision if accel == "gpu" else "32-true", "none")
            print(f"  {r['model']:<18} train {r['train_ips']:>8.1f} images/s   predict {r['predict_ips']:>8.1f} "
                  "images/s", flush=True)
        per_device = max(1, 32 // devices)
        t1, single = train_run(data, work / "one", common, ["--devices", "1", "--batch-size", "32"])
        tn, multi = train_run(data, work / "all", common, ["--devices", str(devices), "--batch-size", str(per_device)])
        print(f"\ntamgu train, 2 folds: {t1:.0f} s on 1 device, {tn:.0f} s on {devices} (DDP, {per_device} per "
              f"device): x{t1 / tn:.2f}")
        same = pd.read_csv(work / "one" / "folds.csv").equals(pd.read_csv(work / "all" / "folds.csv"))
        same_files = files(work / "one") == files(work / "all") and multi["_summaries_printed"] == 1
        _, amp = train_run(data, work / "amp", common, ["--devices", "1", "--batch-size", "32", "--precision",
                                                        amp_precision])
        results = checks(single, multi, same, single, amp, same_files)
    print()
    for check, ok, detail in results:
        print(f"  {'PASS' if ok else 'FAIL'}  {check}: {detail}")
    failed = [c for c, ok, _ in results if not ok]
    print(f"\n{len(results) - len(failed)} of {len(results)} checks passed" + (" (dry run: CPU)" if a.dry_run else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    os.environ.setdefault("TAMGU_CACHE", "off")
    sys.exit(main())
