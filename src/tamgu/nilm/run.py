"""`tamgu nilm train` and `tamgu nilm predict`: learn each appliance's power from the aggregate alone, folds by
house, and judge on houses no model saw -- the chapter's discipline on a signal that is not an image.

A NILM run folder (this module owns it):
    settings.json          appliances, window, period, scales, on thresholds, which houses each fold held out
    models/<method>_fold<k>.pt   each fold's network (state dict and the hyper-parameters that rebuild it)
    oof.csv                every training house's readings predicted by the fold that did not see it
    test_pred.csv          held-out houses, predicted by the mean of the folds
    metrics.csv            MAE, signal aggregate error and on/off F1 per appliance, model and split
    summary.json           the same, nested, for reading back
A `nilm predict` folder holds predictions.csv, and metrics.csv and summary.json when the data has the truth.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

from ..defaults import ACCELERATOR
from ..errors import InputError, MissingInput, check_range
from ..files import atomic_path, write_csv, write_json
from .data import PERIOD, House, choose_appliances, parse_period, read_houses
from .models import METHODS

# Kelly and Knottenbelt's on-power thresholds (watts), used by the NILM papers' F1; other appliances: DEFAULT_ON
ON_WATTS = {"fridge": 50, "kettle": 2000, "microwave": 200, "washing_machine": 20, "dishwasher": 10}
DEFAULT_ON = 15.0
WINDOW = 199  # readings in a window (odd: the middle one is predicted); 199 x 6 s is about 20 minutes, enough to see
# much of a washing or dishwashing programme (99 readings: the gated network lost the dishwasher on unseen houses)
BASELINE = "mean"  # each appliance's training mean, the floor both networks must beat
SETTINGS, OOF, TEST, METRICS, SUMMARY = "settings.json", "oof.csv", "test_pred.csv", "metrics.csv", "summary.json"


# ------------------------------------------------------------------------------------------------ windows
def windows(house: House, window: int, stride: int = 1) -> np.ndarray:
    """Centres of the windows that touch no gap, every `stride`-th."""
    half = window // 2
    gap = np.concatenate([[0], np.cumsum(house.table["gap"].to_numpy(np.int64))])
    centres = np.arange(half, len(house.table) - half)
    clean = (gap[centres + half + 1] - gap[centres - half]) == 0
    return centres[clean][::stride]


def arrays(houses: list[House], appliances: list[str], window: int, stride: int, norm: tuple[float, float]):
    """(x windows (N, W), targets watts (N, K), row index per window: house name and time)."""
    half, xs, ys, keys = window // 2, [], [], []
    for h in houses:
        c = windows(h, window, stride)
        if not len(c):
            continue
        agg = (h.table["aggregate"].to_numpy(np.float32) - norm[0]) / norm[1]
        xs.append(np.lib.stride_tricks.sliding_window_view(agg, window)[c - half])
        ys.append(h.table[appliances].to_numpy(np.float32)[c])
        keys.append(pd.DataFrame({"house": h.name, "time": h.table.index[c],
                                  "aggregate": h.table["aggregate"].to_numpy()[c]}))
    if not xs:
        raise InputError(f"no window of {window} readings without a gap; use a shorter --window or a longer "
                         "recording.")
    return np.concatenate(xs), np.concatenate(ys), pd.concat(keys, ignore_index=True)


def house_folds(names: list[str], folds: int) -> list[list[str]]:
    """Houses dealt round-robin into folds: every house held out exactly once."""
    check_range("folds", folds, 2, None, "folds (each holds out whole houses)")
    if folds > len(names):
        raise InputError(f"--folds {folds}: only {len(names)} houses to hold out; use --folds {len(names)} or fewer.")
    return [names[k::folds] for k in range(folds)]


# ------------------------------------------------------------------------------------------------ metrics
def scores(truth: np.ndarray, pred: np.ndarray, on: float) -> dict:
    """The paper's metrics for one appliance: MAE (W), signal aggregate error and on/off F1."""
    total = float(truth.sum())
    is_on, said_on = truth > on, pred > on
    tp = float((is_on & said_on).sum())
    f1 = 2 * tp / max(float(is_on.sum() + said_on.sum()), 1.0)
    return {"mae": float(np.abs(pred - truth).mean()), "sae": abs(float(pred.sum()) - total) / max(total, 1e-9),
            "f1": f1, "on_share": float(is_on.mean())}


def metric_table(table: pd.DataFrame, appliances: list[str], models: list[str], split: str,
                 on_watts: dict[str, float]) -> pd.DataFrame:
    rows = [{"split": split, "appliance": a, "model": m, **scores(table[a].to_numpy(), table[f"{a}_{m}"].to_numpy(),
                                                                     on_watts[a])}
            for a in appliances for m in models]
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------------------ training
def _loader(x, y, on, batch_size, shuffle, seed=0):
    import torch
    from torch.utils.data import BatchSampler, DataLoader, RandomSampler, SequentialSampler, TensorDataset

    ds = TensorDataset(torch.from_numpy(x), torch.from_numpy(y), torch.from_numpy(on))
    order = RandomSampler(ds, generator=torch.Generator().manual_seed(seed)) if shuffle else SequentialSampler(ds)
    # whole batches indexed at once: windows are rows of one tensor, so there is nothing to load item by item
    return DataLoader(ds, sampler=BatchSampler(order, batch_size, drop_last=False), batch_size=None)


def fit(method: str, x, y, on, window: int, epochs: int, batch_size: int, lr: float, accelerator: str, seed: int,
        label: str):
    """One network trained on one fold's windows (targets already divided by the scales)."""
    import lightning as L

    from ..runtime import trainer_display
    from .models import Disaggregator

    L.seed_everything(seed, workers=True, verbose=False)
    module = Disaggregator(method, window, y.shape[1], lr)
    trainer = L.Trainer(max_epochs=epochs, accelerator=accelerator, devices=1, logger=False,
                        enable_checkpointing=False, limit_val_batches=0, deterministic=True,
                        **trainer_display(label))
    trainer.fit(module, _loader(x, y, on, batch_size, True, seed))
    return module.eval()


def infer(module, x: np.ndarray, scales: np.ndarray, batch_size: int = 2048) -> np.ndarray:
    """Watts (N, K) from windows (N, W)."""
    import torch

    out = []
    with torch.inference_mode():
        for i in range(0, len(x), batch_size):
            power, _ = module(torch.from_numpy(x[i:i + batch_size]).to(module.device))
            out.append(power.float().cpu().numpy())
    return np.clip(np.concatenate(out), 0, None) * scales


def model_file(run: Path, method: str, fold: int) -> Path:
    return run / "models" / f"{method}_fold{fold}.pt"


def _data_parts(data: Path, test: str | Path | None) -> tuple[Path, Path | None]:
    if (data / "train").is_dir():
        return data / "train", Path(test) if test else (data / "test" if (data / "test").is_dir() else None)
    return data, Path(test) if test else None


def train_nilm(data: str | Path, out: str | Path = "runs/nilm", test: str | Path | None = None,
               appliances: list[str] | None = None, methods: list[str] = METHODS, window: int = WINDOW,
               period: float | str = PERIOD, folds: int = 3, epochs: int = 8, stride: int = 2,
               batch_size: int = 256, lr: float = 1e-3, seed: int = 0, accelerator: str = ACCELERATOR) -> dict:
    """Train seq2point and the subtask gated network to disaggregate appliances, folds by house; OOF and held-out
    houses judged side by side with each appliance's mean.

    Args:
        data: houses (a folder of CSVs, a REDD or UK-DALE folder; with train/ and test/ the second is held out)
        test: held-out houses, judged only (default: DATA/test when DATA/train exists)
        appliances: appliances to learn (default: every one metered in all training houses)
        methods: networks to train: seq2point, gated (the subtask gated network)
        window: readings in each input window (odd)
        period: seconds between readings after resampling (6, '6s', '1min')
        folds: folds over the training houses (each holds out whole houses)
        epochs: passes over the training windows per fold
        stride: train on every Nth window (1: all of them)
        batch_size: windows per training step
        lr: Adam's learning rate
    """
    import torch

    started = time.perf_counter()
    for m in methods:
        if m not in METHODS:
            raise InputError(f"--methods {m}: choose from {', '.join(METHODS)}.")
    check_range("window", window, 9, 4001, "readings per window")
    check_range("epochs", epochs, 1, None, "epochs")
    check_range("stride", stride, 1, None, "a window stride")
    if window % 2 == 0:
        raise InputError(f"--window {window}: use an odd number, so one reading sits in the middle.")
    train_dir, test_dir = _data_parts(Path(data), test)
    seconds = parse_period(period)
    houses = read_houses(train_dir, seconds)
    held = read_houses(test_dir, seconds) if test_dir else []
    names = choose_appliances(houses + held, appliances)
    split = house_folds([h.name for h in houses], folds)
    on_watts = {a: float(ON_WATTS.get(a, DEFAULT_ON)) for a in names}
    out = Path(out)

    agg = np.concatenate([h.table["aggregate"].to_numpy() for h in houses])
    norm = (float(agg.mean()), float(agg.std() or 1.0))
    watts = pd.concat([h.table[names] for h in houses])
    # targets divided by each appliance's standard deviation, as seq2point standardises them (Zhang et al.): an
    # appliance that is mostly off has a small one, so its networks are not let off with predicting noise around
    # zero (divided by the 99th percentile of its on-power instead, seq2point's microwave lost to the mean on the
    # unseen houses: 22.2 W against 19.1)
    scales = np.array([max(float(watts[a].std()), 1.0) for a in names], np.float32)
    settings = {"appliances": names, "window": window, "period": seconds, "norm": list(norm),
                "scales": scales.tolist(), "on_watts": on_watts, "methods": list(methods), "epochs": epochs,
                "stride": stride, "folds": split, "seed": seed, "train": str(train_dir),
                "test": str(test_dir) if test_dir else None}
    import json

    # an interrupted run resumes: with the same settings, each fold's finished model file is loaded, not retrained
    same = (out / SETTINGS).is_file() and json.loads((out / SETTINGS).read_text()) == json.loads(json.dumps(settings))
    write_json(settings, out / SETTINGS)
    resumed = 0

    oof_parts, test_preds = [], {m: [] for m in methods}
    x_test = y_test = keys_test = None
    if held:
        x_test, y_test, keys_test = arrays(held, names, window, 1, norm)
    for k, fold_houses in enumerate(split):
        fit_houses = [h for h in houses if h.name not in fold_houses]
        val_houses = [h for h in houses if h.name in fold_houses]
        x, y, _ = arrays(fit_houses, names, window, stride, norm)
        on = (y > np.array([on_watts[a] for a in names])).astype(np.float32)
        xv, yv, keys = arrays(val_houses, names, window, 1, norm)
        part = keys.assign(fold=k)
        for j, a in enumerate(names):
            part[a] = yv[:, j]
            part[f"{a}_{BASELINE}"] = float(y[:, j].mean())
        for m in methods:
            if same and model_file(out, m, k).is_file():
                module = load_model(model_file(out, m, k))
                resumed += 1
            else:
                module = fit(m, x, y / scales, on, window, epochs, batch_size, lr, accelerator, seed + k,
                             f"{m} fold {k}")
                with atomic_path(model_file(out, m, k)) as tmp:  # a killed run never leaves half a model
                    torch.save({"state_dict": module.state_dict(), "hparams": dict(module.hparams), "fold": k}, tmp)
            pred = infer(module, xv, scales)
            for j, a in enumerate(names):
                part[f"{a}_{m}"] = pred[:, j]
            if held:
                test_preds[m].append(infer(module, x_test, scales))
        oof_parts.append(part)

    models = [BASELINE, *methods]
    oof = pd.concat(oof_parts, ignore_index=True)
    write_csv(_rounded(oof), out / OOF)
    metrics = [metric_table(oof, names, models, "oof", on_watts)]
    if held:
        test_table = keys_test.copy()
        for j, a in enumerate(names):
            test_table[a] = y_test[:, j]
            test_table[f"{a}_{BASELINE}"] = float(watts[a].mean())
            for m in methods:
                test_table[f"{a}_{m}"] = np.mean([p[:, j] for p in test_preds[m]], axis=0)
        write_csv(_rounded(test_table), out / TEST)
        metrics.append(metric_table(test_table, names, models, "test", on_watts))
    table = pd.concat(metrics, ignore_index=True)
    write_csv(table.round(4), out / METRICS)
    summary = {"run": str(out), "appliances": names, "models": models, "houses": [h.name for h in houses],
               "test_houses": [h.name for h in held], "metrics": _nested(table), "resumed_models": resumed,
               "seconds": round(time.perf_counter() - started, 1)}
    write_json(summary, out / SUMMARY)
    return summary


def _rounded(table: pd.DataFrame, digits: int = 2) -> pd.DataFrame:
    return table.round({c: digits for c in table.columns if pd.api.types.is_float_dtype(table[c])})


def _nested(table: pd.DataFrame) -> dict:
    return {s: {a: {m: {k: round(float(r[k]), 4) for k in ("mae", "sae", "f1")}
                    for m, r in g.set_index("model").iterrows()}
                for a, g in t.groupby("appliance", sort=False)}
            for s, t in table.groupby("split", sort=False)}


# ------------------------------------------------------------------------------------------------ predicting
def load_run(run: str | Path) -> tuple[dict, dict[str, list]]:
    """The run's settings and, per method, its fold networks (every file checked before any is used)."""
    import json

    run = Path(run)
    if not (run / SETTINGS).exists():
        raise MissingInput(f"{run}: no {SETTINGS}; give a folder `tamgu nilm train` wrote.")
    settings = json.loads((run / SETTINGS).read_text())
    files = {m: [model_file(run, m, k) for k in range(len(settings["folds"]))] for m in settings["methods"]}
    missing = [str(f) for fs in files.values() for f in fs if not f.exists()]
    if missing:
        raise MissingInput(f"{missing[0]}: missing ({len(missing)} model file(s) in all); the run was interrupted -- "
                           "train it again.")
    return settings, {m: [load_model(path) for path in paths] for m, paths in files.items()}


def load_model(path: Path):
    """One fold's network from its file, every tensor matched (a partial load is refused)."""
    import torch

    from .models import Disaggregator

    saved = torch.load(path, map_location="cpu", weights_only=True)
    module = Disaggregator(**saved["hparams"])
    module.load_state_dict(saved["state_dict"], strict=True)
    return module.eval()


def predict_nilm(run: str | Path, data: str | Path, out: str | Path = "runs/nilm_predict") -> dict:
    """Disaggregate houses with a trained NILM run (each method: the mean of its folds); with the appliances' own
    meters in the data, judged as in training.

    Args:
        run: a folder `tamgu nilm train` wrote
        data: houses to disaggregate (same layouts as training; appliance columns are optional)
    """
    settings, nets = load_run(run)
    names, window = settings["appliances"], settings["window"]
    houses = read_houses(data, settings["period"])
    scales = np.array(settings["scales"], np.float32)
    norm = tuple(settings["norm"])
    known = all(all(a in h.table.columns for a in names) for h in houses)
    for h in houses:  # appliance columns are optional here: absent ones are unknown truth, not zero power
        for a in names:
            if a not in h.table.columns:
                h.table[a] = np.nan
    x, y, table = arrays(houses, names, window, 1, norm)
    for m, folds in nets.items():
        pred = np.mean([infer(net, x, scales) for net in folds], axis=0)
        for j, a in enumerate(names):
            table[f"{a}_{m}"] = pred[:, j]
    out = Path(out)
    summary = {"run": str(run), "out": str(out), "houses": [h.name for h in houses], "appliances": names,
               "models": list(nets), "readings": len(table)}
    if known:
        for j, a in enumerate(names):
            table[a] = y[:, j]
        metrics = metric_table(table, names, list(nets), "data", settings["on_watts"])
        write_csv(metrics.round(4), out / METRICS)
        summary["metrics"] = _nested(metrics)
    write_csv(_rounded(table), out / "predictions.csv")
    write_json(summary, out / SUMMARY)
    return summary
