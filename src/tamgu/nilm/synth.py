"""Generated households for learning load disaggregation offline: each appliance switches on and off by its own
habits (a fridge's compressor cycles day and night; a kettle, a microwave, a washing machine and a dishwasher run
a few times a day, mostly in the morning and the evening, the last two through multi-state programmes), on top
of a standby draw, unmetered loads (lights, a TV, a heater) and meter noise. Every house draws its own appliance
models (power, durations, ramps), so a house the model never saw has appliances it never saw.

`style="unseen"` draws from other shapes and more noise (the judge's houses); the public sets' real houses are read
by `nilm.data` instead."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import check_range
from ..files import write_csv
from .data import PERIOD

APPLIANCES = ("fridge", "kettle", "microwave", "washing_machine", "dishwasher")
START = pd.Timestamp("2026-01-05")  # a Monday: days of the week keep their habits
# (low, high) of each appliance model's parameters for the houses training sees; "unseen" houses stretch them
MODELS = {
    "fridge": dict(watts=(80, 140), on_min=(12, 20), off_min=(25, 40), spike=(1.5, 2.5)),
    "kettle": dict(watts=(2200, 2900), minutes=(2, 4), per_day=(3, 7)),
    "microwave": dict(watts=(900, 1300), minutes=(2, 6), per_day=(2, 5), pulse=(0.0, 0.4)),
    "washing_machine": dict(heat=(1800, 2200), wash=(150, 350), spin=(300, 550), minutes=(60, 100), per_day=(0.7, 1.3)),
    "dishwasher": dict(heat=(1800, 2300), wash=(60, 140), minutes=(70, 110), per_day=(0.6, 1.2)),
}
UNSEEN_STRETCH = 0.25  # unseen houses draw each range widened by this share on both sides
NOISE = {"seen": (3.0, 8.0), "unseen": (6.0, 14.0)}  # watts of meter noise (standard deviation)


def _draw(rng: np.random.Generator, spec: dict, style: str) -> dict:
    out = {}
    for key, (lo, hi) in spec.items():
        if style == "unseen":
            pad = (hi - lo) * UNSEEN_STRETCH + 0.05 * abs(lo)
            lo, hi = max(lo - pad, 0.0), hi + pad
        out[key] = float(rng.uniform(lo, hi))
    return out


def _event_starts(rng: np.random.Generator, n_steps: int, period: float, per_day: float) -> np.ndarray:
    """Start steps of a day-time appliance: more in the morning (7-9) and the evening (18-22)."""
    days = n_steps * period / 86400
    count = rng.poisson(per_day * days)
    hours = np.where(rng.random(count) < 0.45, rng.normal(8, 1.0, count), rng.normal(19.5, 1.5, count)) % 24
    day = rng.integers(0, max(int(np.ceil(days)), 1), count)
    return np.clip(((day * 24 + hours) * 3600 / period).astype(int), 0, n_steps - 1)


def _fridge(rng, n, period, m):
    """Compressor cycles all day; a start-up spike that settles within a minute."""
    out = np.zeros(n)
    t = int(rng.integers(0, int(m["off_min"] * 60 / period)))
    while t < n:
        on = max(1, int(rng.normal(m["on_min"], 2) * 60 / period))
        settle = np.exp(-np.arange(on) * period / 20.0)
        out[t:t + on] = (m["watts"] * (1 + (m["spike"] - 1) * settle))[:max(0, min(on, n - t))]
        t += on + max(1, int(rng.normal(m["off_min"], 4) * 60 / period))
    return out


def _short(rng, n, period, m):
    """Kettle and microwave: a few minutes near full power (the microwave pulses at lower settings)."""
    out = np.zeros(n)
    for s in _event_starts(rng, n, period, m["per_day"]):
        k = max(1, int(rng.uniform(0.7, 1.3) * m["minutes"] * 60 / period))
        level = np.full(k, m["watts"])
        if m.get("pulse", 0) and rng.random() < m["pulse"] * 2:
            level[(np.arange(k) // 3) % 2 == 1] *= 0.15  # power-level cycling
        out[s:s + k] = np.maximum(out[s:s + k], level[:max(0, min(k, n - s))])
    return out


def _programme(rng, n, period, m, states):
    """Washing machine and dishwasher: a programme of states (heat, wash with a motor's wobble, spin or dry)."""
    out = np.zeros(n)
    for s in _event_starts(rng, n, period, m["per_day"]):
        total = m["minutes"] * rng.uniform(0.85, 1.15) * 60 / period
        parts = []
        for share, watts, wobble in states:
            k = max(1, int(share * total))
            x = np.arange(k)
            parts.append(watts * (1 + wobble * np.sin(x * 0.9 + rng.uniform(0, 6))) * (rng.random(k) > 0.05))
        prog = np.concatenate(parts)
        out[s:s + len(prog)] = np.maximum(out[s:s + len(prog)], prog[:max(0, min(len(prog), n - s))])
    return out


def _appliance(rng, name, n, period, m):
    if name == "fridge":
        return _fridge(rng, n, period, m)
    if name in ("kettle", "microwave"):
        return _short(rng, n, period, m)
    if name == "washing_machine":
        return _programme(rng, n, period, m, [(0.05, m["wash"], 0.2), (0.2, m["heat"], 0.02), (0.5, m["wash"], 0.4),
                                               (0.1, 15, 0.0), (0.15, m["spin"], 0.3)])
    return _programme(rng, n, period, m, [(0.1, m["wash"], 0.1), (0.25, m["heat"], 0.02), (0.35, m["wash"], 0.2),
                                          (0.1, m["heat"], 0.02), (0.2, 8, 0.0)])


def _unmetered(rng, n, period, style):
    """Standby, evening lights, a TV and now and then a heater: loads nobody labelled."""
    hours = (np.arange(n) * period / 3600) % 24
    base = rng.uniform(40, 160) + np.zeros(n)
    lights = np.where((hours > 17.5) & (hours < 23.5), rng.uniform(60, 250), 0.0)
    tv = np.where((hours > 19) & (hours < 22.5) & (rng.random() < 0.8), rng.uniform(70, 160), 0.0)
    heater = np.zeros(n)
    for s in _event_starts(rng, n, period, 1.5 if style == "unseen" else 0.8):
        heater[s:s + int(rng.uniform(20, 90) * 60 / period)] = rng.uniform(500, 1500)
    return base + lights + tv + heater


def synth_house(seed: int, days: float = 2.0, period: float = PERIOD, style: str = "seen") -> pd.DataFrame:
    """One house as a table: timestamp (unix seconds), aggregate, one column per appliance (watts)."""
    rng = np.random.default_rng(seed)
    n = int(days * 86400 / period)
    columns = {a: _appliance(rng, a, n, period, _draw(rng, MODELS[a], style)) for a in APPLIANCES}
    noise = rng.normal(0, rng.uniform(*NOISE[style]), n)
    aggregate = sum(columns.values()) + _unmetered(rng, n, period, style) + noise
    stamps = (START.value // 10**9) + np.arange(n) * period
    table = pd.DataFrame({"timestamp": stamps.astype(np.int64), "aggregate": np.maximum(aggregate, 0).round(1)})
    for a, v in columns.items():
        table[a] = v.round(1)
    return table


def synth_houses(out: str | Path, houses: int = 6, test_houses: int = 2, days: float = 2.0, period: float = PERIOD,
                 seed: int = 0) -> Path:
    """Write generated households: `train/house_N.csv` for learning and `test/house_N.csv` for judging, the test
    houses drawn from other appliance shapes and more noise (never seen by training).

    Args:
        out: output folder
        houses: houses in train/ (the folds split them by house)
        test_houses: held-out houses in test/ (0: none)
        days: days of readings per house
        period: seconds between readings
    """
    check_range("houses", houses, 2, 1000, "houses to learn from (folds need two or more)")
    check_range("test_houses", test_houses, 0, 1000, "held-out houses")
    check_range("days", days, 0.05, 365, "days per house")
    check_range("period", period, 1, 3600, "seconds between readings")
    out = Path(out)
    for i in range(houses + test_houses):
        part, style = ("train", "seen") if i < houses else ("test", "unseen")
        write_csv(synth_house(seed * 1000 + i, days, period, style), out / part / f"house_{i + 1}.csv")
    return out
