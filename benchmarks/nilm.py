"""NILM, measured: seq2point beside the subtask gated network (Shin et al., AAAI 2019) and each appliance's mean,
on generated houses, OOF by house beside held-out houses drawn from other appliance models and more noise.

Run by hand, not in CI, on an otherwise idle machine:

    .venv/bin/python benchmarks/nilm.py                  # 6 training houses, 2 held out, 3 days each, defaults
    .venv/bin/python benchmarks/nilm.py --epochs 8       # any train_nilm option: --window, --stride, --folds ...

Prints the metrics table (MAE in watts, signal aggregate error, on/off F1) per split, which appliances are mostly
off (on under 20% of the time: the paper's claim is about those), and the seconds per fold on this machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import pandas as pd

import tamgu
from tamgu.runtime import processor

MOSTLY_OFF = 0.2  # share of time on below which an appliance counts as mostly off


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--houses", type=int, default=6)
    ap.add_argument("--test-houses", type=int, default=2)
    ap.add_argument("--days", type=float, default=3.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--window", type=int, default=None)
    ap.add_argument("--stride", type=int, default=None)
    ap.add_argument("--folds", type=int, default=3)
    ap.add_argument("--keep", help="keep the data and run here")
    args = ap.parse_args()
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="tamgu-nilm-"))
    try:
        data = tamgu.synth_houses(work / "data", houses=args.houses, test_houses=args.test_houses, days=args.days,
                                  seed=args.seed)
        options = {k: v for k, v in dict(epochs=args.epochs, window=args.window, stride=args.stride).items()
                   if v is not None}
        started = time.perf_counter()
        summary = tamgu.train_nilm(data, out=work / "run", folds=args.folds, **options)
        seconds = time.perf_counter() - started
        metrics = pd.read_csv(work / "run" / "metrics.csv")
        table = metrics.pivot_table(index=["split", "appliance"], columns="model", values=["mae", "f1"], sort=False)
        on = metrics.groupby(["split", "appliance"], sort=False)["on_share"].first()
        table[("on_share", "")] = on
        print(f"\n{processor()}, {os.cpu_count()} cores; {args.houses} houses "
              f"(+{args.test_houses} held out) x {args.days:g} days; {summary['seconds']:.0f} s in all, "
              f"{seconds / args.folds:.0f} s a fold (both networks)\n")
        print(table.round(3).to_string())
        for split, g in metrics.groupby("split", sort=False):
            off = g[g["on_share"] < MOSTLY_OFF]
            mae = off.pivot_table(index="appliance", columns="model", values="mae")
            wins = (mae["gated"] < mae["seq2point"]).sum()
            print(f"\n{split}: mostly-off appliances where the gated network's MAE is below seq2point's: "
                  f"{wins} of {len(mae)}; both below the mean: "
                  f"{((mae['gated'] < mae['mean']) & (mae['seq2point'] < mae['mean'])).sum()} of {len(mae)}")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
