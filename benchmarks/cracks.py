"""Cracks, measured: the ridge method and the U-Net side by side on generated surfaces no model saw, and how fast
each runs on a 640x480 clip of a wall, whole process.

Run by hand, not in CI, on an otherwise idle machine:

    .venv/bin/python benchmarks/cracks.py                # trains the default model (about 5-10 minutes on 2 cores)
    .venv/bin/python benchmarks/cracks.py --keep-model M.pt   # ... and keeps the model (for --model, --tune-unet)
    .venv/bin/python benchmarks/cracks.py --model M.pt   # judges a model trained before (skips the training)
    .venv/bin/python benchmarks/cracks.py --tune-ridge   # the grid the ridge method's thresholds came from
    .venv/bin/python benchmarks/cracks.py --tune-unet --model M.pt   # ... and the U-Net mask's cleaning
    .venv/bin/python benchmarks/cracks.py --tune-views --model M.pt  # ... and the views the U-Net votes over

Judges (never used to train or to choose anything):
- other textures: 60 surfaces of brick and the moon's surface (the model trained on gravel, grass, plaster), seed 3,
  and 60 crack-free ones (seed 13) for false alarms;
- other seeds: 60 surfaces of the training textures, seed 4 (training used seed 0), and 60 crack-free (seed 14).
  (Seeds 1 and 2 judged before; their false alarms were looked at while the U-Net's cleaning was designed, so
  they are no longer unseen.)
Tuning (`--tune-ridge`, `--tune-unet`, `--tune-views`): 40 / 100 / 100 surfaces of the training textures, seed 5,
and 60 crack-free (seed 15).
Speed: `tamgu cracks` on a 10 s 640x480 clip of a wall at 10 fps, every frame (--dedupe 0), decode to overlay
video, as frames per second and latency. The U-Net is judged and timed with its default vote (8 views) and with
one view (--views 1, as it predicted before the vote). No real crack photograph was available offline: these
numbers are on generated surfaces, and a real set is judged with `tamgu cracks eval DIR --model M.pt`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import pandas as pd

import tamgu
from tamgu.inspection.synth import HELD_OUT_TEXTURES
from tamgu.runtime import processor




def tune_ridge(work: Path) -> pd.DataFrame:
    """Hysteresis thresholds on 40 training-texture surfaces (seed 5): pooled skeleton F1 and false alarms."""
    from tamgu.inspection import ridge
    from tamgu.inspection.data import read_crack_set, read_pair
    from tamgu.inspection.measure import MIN_LENGTH_PX, pooled_scores

    data = tamgu.synth_cracks(work / "tune", n=40, seed=5, progress=False)
    pairs = [read_pair(p) for p in read_crack_set(data)]
    rows = []
    for high in (4, 5, 6, 8):
        for low in (2, 3, 4):
            if low >= high:
                continue
            sc = pooled_scores((ridge.ridge_mask(img, high=high, low=low, min_length=MIN_LENGTH_PX), true)
                               for img, true in pairs)
            rows.append({"high": high, "low": low, **{k: round(sc[k], 3) for k in ("precision", "recall", "f1")},
                         "false_alarms": f"{sc['false_alarms']}/{sc['crack_free']}"})
    return pd.DataFrame(rows)


def tune_unet(work: Path, model: Path) -> pd.DataFrame:
    """The U-Net mask's cleaning (`ridge.clean_learned`) on training-texture surfaces (seed 5, and seed 15
    crack-free): pooled skeleton F1 and false alarms per setting. The rule: the best F1 among the settings with
    the fewest false alarms."""
    import itertools

    from tamgu.inspection import ridge
    from tamgu.inspection.data import read_crack_set, read_pair
    from tamgu.inspection.measure import MIN_LENGTH_PX, pooled_scores
    from tamgu.inspection.unet import load_crack_model

    m = load_crack_model(model, "cpu")
    sets = [tamgu.synth_cracks(work / "tune", n=100, seed=5, progress=False),
            tamgu.synth_cracks(work / "tune_free", n=60, seed=15, crack_free=1.0, progress=False)]
    items = [(m(img) > m.threshold, true) for d in sets for img, true in map(read_pair, read_crack_set(d))]
    rows = []
    for reach, group, edge, straight in itertools.product((8, 12, 16), (48, 64, 80, 100), (24, 32, 48), (48, 64)):
        if edge > group:
            continue
        sc = pooled_scores((ridge.clean_learned(mask, MIN_LENGTH_PX, reach=reach, group_length=group, edge_length=edge,
                                                straight_length=straight), true) for mask, true in items)
        rows.append({"reach": reach, "group_length": group, "edge_length": edge, "straight_length": straight,
                     **{k: round(sc[k], 3) for k in ("precision", "recall", "f1")},
                     "false_alarms": sc["false_alarms"], "crack_free": sc["crack_free"]})
    return pd.DataFrame(rows).sort_values(["false_alarms", "f1"], ascending=[True, False])


def tune_views(work: Path, model: Path) -> pd.DataFrame:
    """The views the U-Net votes over and how many must agree (`unet.VIEWS`, `unet.AGREE`), on training-texture
    surfaces (seed 5, and seed 15 crack-free): pooled skeleton F1 and false alarms. The rule, as for the cleaning:
    the best F1 among the settings with the fewest false alarms."""
    from tamgu.inspection import ridge
    from tamgu.inspection.data import read_crack_set, read_pair
    from tamgu.inspection.measure import MIN_LENGTH_PX, pooled_scores
    from tamgu.inspection.unet import VIEW_CHOICES, agreeing, load_crack_model, predict_probs

    m = load_crack_model(model, "cpu")
    sets = [tamgu.synth_cracks(work / "tune", n=100, seed=5, progress=False),
            tamgu.synth_cracks(work / "tune_free", n=60, seed=15, crack_free=1.0, progress=False)]
    pairs = [read_pair(p) for d in sets for p in read_crack_set(d)]
    rows, seen = [], set()
    for views in VIEW_CHOICES:
        for agree in (0.5, 0.75, 1.0):
            n_agree = agreeing(views, agree)
            if (views, n_agree) in seen:
                continue
            seen.add((views, n_agree))
            probs = predict_probs(m.net, [img for img, _ in pairs], m.meta["mean"], m.meta["std"], "cpu", views, agree)
            sc = pooled_scores((ridge.clean_learned(p > m.threshold, MIN_LENGTH_PX), true)
                               for p, (_, true) in zip(probs, pairs))
            rows.append({"views": views, "agreeing": n_agree, **{k: round(sc[k], 3) for k in ("precision", "recall", "f1")},
                         "false_alarms": sc["false_alarms"], "crack_free": sc["crack_free"]})
    return pd.DataFrame(rows).sort_values(["false_alarms", "f1"], ascending=[True, False])


def speed(clip: Path, out: Path, **kw) -> dict:
    t0 = time.perf_counter()
    table = tamgu.cracks(clip, out=out, dedupe=0, progress=False, **kw)
    wall = time.perf_counter() - t0
    s = table.attrs["summaries"][0]
    return {"fps": s["achieved_fps"], "latency_ms": s["latency_ms"]["mean"], "p95_ms": s["latency_ms"]["p95"],
            "frames": s["frames_processed"], "wall_s": round(wall, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tune-ridge", action="store_true", help="print the ridge thresholds' grid and stop")
    ap.add_argument("--tune-unet", action="store_true", help="print the U-Net cleaning's grid (needs --model) and stop")
    ap.add_argument("--tune-views", action="store_true", help="print the U-Net vote's grid (needs --model) and stop")
    ap.add_argument("--epochs", type=int, default=None, help="U-Net epochs (default: train_cracks' own)")
    ap.add_argument("--model", default=None, help="judge this model from tamgu cracks train instead of training one")
    ap.add_argument("--out", default=None, help="also write the results as JSON here")
    ap.add_argument("--keep-model", default=None, help="copy the model it trains here (for --model, --tune-unet)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="tamgu_cracks_") as tmp:
        work = Path(tmp)
        if args.tune_ridge:
            print(tune_ridge(work).to_markdown(index=False))
            return
        if args.tune_unet or args.tune_views:
            if not args.model:
                ap.error("--tune-unet and --tune-views need --model M.pt (from tamgu cracks train)")
            grid = tune_unet if args.tune_unet else tune_views
            print(grid(work, Path(args.model)).head(12).to_markdown(index=False))
            return
        judges = {}
        for judge, seed, textures in (("other textures (brick, moon)", 3, list(HELD_OUT_TEXTURES)),
                                      ("other seeds (gravel, grass, plaster)", 4, ["gravel", "grass", "plaster"])):
            judges[judge] = [tamgu.synth_cracks(work / f"judge{seed}", n=60, seed=seed, textures=textures,
                                                progress=False),
                             tamgu.synth_cracks(work / f"judge{seed}_free", n=60, seed=seed + 10, textures=textures,
                                                crack_free=1.0, progress=False)]
        model = Path(args.model) if args.model else work / "cracks.pt"
        if args.model:
            from tamgu.inspection.unet import load_crack_model

            trained = load_crack_model(model, "cpu").meta  # its training time as the file recorded it
            train_min = trained["seconds"] / 60
        else:
            t0 = time.perf_counter()
            kw = {"epochs": args.epochs} if args.epochs else {}
            trained = tamgu.train_cracks(model, progress=False, **kw)
            train_min = (time.perf_counter() - t0) / 60
            if args.keep_model:
                shutil.copyfile(model, args.keep_model)
        from tamgu.inspection.cracks import eval_summary

        rows = []
        for judge, sets in judges.items():
            parts = [tamgu.evaluate_cracks(d, model=model, progress=False) for d in sets]
            for d in sets:  # the U-Net on one view, as it predicted before the vote
                one = tamgu.evaluate_cracks(d, model=model, methods=["unet"], views=1, progress=False)
                parts.append(one.assign(method="unet --views 1"))
            for p in parts:
                p.attrs = {}  # each holds its own summary; pooled below
            t = pd.concat(parts, ignore_index=True)
            for r in eval_summary(t).to_dict(orient="records"):
                rows.append({"judge": judge, **r})
        clip = tamgu.synth_wall_clip(work / "wall.mp4", seconds=10, fps=10, seed=3)
        fast = {"ridge": speed(clip, work / "speed_ridge", method="ridge"),
                "unet": speed(clip, work / "speed_unet", method="unet", model=model),
                "unet --views 1": speed(clip, work / "speed_unet1", method="unet", model=model, views=1)}
    result = {"cpu": processor(), "cores": os.cpu_count(), "train_minutes": round(train_min, 1),
              "epochs_run": trained["epochs_run"], "threshold": trained["threshold"],
              "val_f1": trained["threshold_f1"][str(trained["threshold"])], "quality": rows, "speed": fast}
    print(f"{result['cpu']}, {result['cores']} cores; U-Net trained in {result['train_minutes']} min "
          f"({result['epochs_run']} epochs, threshold {result['threshold']}, held-out F1 {result['val_f1']})\n")
    print(pd.DataFrame(rows).to_markdown(index=False))
    print()
    print(pd.DataFrame([{"method": m, **v} for m, v in fast.items()]).to_markdown(index=False))
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
