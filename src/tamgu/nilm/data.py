"""Household power for load disaggregation (NILM): read a house's aggregate and its appliances from the public
sets' own layouts or a CSV, resample to one period and mark the gaps.

Layouts read (each house becomes one table indexed by time, columns `aggregate` and one per appliance, in watts):
- **REDD** (`low_freq/house_N/channel_M.dat`, lines `unix_time watts`, with `labels.dat` lines `M name`): the two
  `mains` channels add up to the aggregate.
- **UK-DALE** (`house_N/channel_M.dat` with `labels.dat`): channel `aggregate` (or `mains`) is the aggregate.
- **CSV**: a folder of files, one house each (`house_1.csv`, ...), or one file; columns `timestamp` (unix seconds
  or a date), `aggregate`, then one column per appliance.

Resampling takes the mean of each period; a hole up to `MAX_FILL` periods is filled from the last reading (as
NILMTK does), a longer one stays a gap (`gap` True), and windows that touch a gap are never trained or judged on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError, MissingInput

PERIOD = 6.0  # seconds: UK-DALE's own period; REDD's low_freq is 3-4 s
MAX_FILL = 3  # periods a missing reading may be carried over before it counts as a gap
# one name per appliance across the public sets' spellings (REDD writes "refrigerator" and "dishwaser")
ALIASES = {"refrigerator": "fridge", "fridge_freezer": "fridge", "freezer": "fridge", "dishwaser": "dishwasher",
           "washer_dryer": "washing_machine", "washer": "washing_machine", "microwave_oven": "microwave"}
MAINS = {"mains", "aggregate", "main", "site_meter"}


@dataclass
class House:
    """One house at one period: `table` has `aggregate`, one column per appliance (watts) and `gap`."""
    name: str
    table: pd.DataFrame
    source: str

    @property
    def appliances(self) -> list[str]:
        return [c for c in self.table.columns if c not in ("aggregate", "gap")]


def appliance_name(label: str) -> str:
    """A channel label as one lower-case name: 'Refrigerator' and 'fridge_freezer' are both 'fridge'."""
    name = re.sub(r"[^0-9a-z]+", "_", label.strip().lower()).strip("_")
    return ALIASES.get(name, name)


def parse_period(period: float | str) -> float:
    """Seconds from 6, '6', '6s', '1min'; refused when it is not a positive length of time."""
    try:
        seconds = float(period) if not isinstance(period, str) or re.fullmatch(r"[0-9.]+", period.strip()) \
            else pd.Timedelta(period.strip()).total_seconds()
    except ValueError:
        raise InputError(f"--period {period!r}: give seconds (6) or a length of time ('6s', '1min').") from None
    if not np.isfinite(seconds) or seconds <= 0:
        raise InputError(f"--period {period!r}: give a period of more than 0 seconds.")
    return seconds


# ---------------------------------------------------------------------------------------------- reading
def read_channel(path: Path) -> pd.Series:
    """A REDD/UK-DALE channel file (`unix_time watts` a line) as a series indexed by time; a broken line is
    refused with its number."""
    times, watts = [], []
    with open(path, encoding="utf-8", errors="replace") as f:
        for n, line in enumerate(f, 1):
            parts = line.split()
            if not parts:
                continue
            try:
                t, w = float(parts[0]), float(parts[1])
            except (ValueError, IndexError):
                raise InputError(f"{path}, line {n}: {line.strip()[:60]!r} is not 'unix_time watts'; repair or "
                                 "delete that line (a download cut short leaves one at the end).") from None
            times.append(t)
            watts.append(w)
    if not times:
        raise InputError(f"{path}: the channel file is empty; download it again or leave it out of labels.dat.")
    return pd.Series(watts, index=pd.to_datetime(np.asarray(times), unit="s"), name=path.stem)


def read_labels(folder: Path) -> dict[int, str]:
    """labels.dat: `channel name` a line."""
    path = folder / "labels.dat"
    if not path.exists():
        raise MissingInput(f"{folder}: no labels.dat, so its channels cannot be named. REDD and UK-DALE ship one per "
                           "house (lines 'channel_number name'); copy it beside the channel files.")
    labels = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) < 2 or not parts[0].isdigit():
            raise InputError(f"{path}, line {n}: {line.strip()!r} is not 'channel_number name'.")
        labels[int(parts[0])] = parts[1]
    return labels


def read_channels_house(folder: Path) -> dict[str, pd.Series]:
    """A REDD or UK-DALE house folder: the aggregate (sum of the mains channels) and one series per appliance
    (channels of the same appliance add up)."""
    series: dict[str, pd.Series] = {}
    for channel, label in sorted(read_labels(folder).items()):
        path = folder / f"channel_{channel}.dat"
        if not path.exists():
            continue  # labels.dat names channels that a partial download left out; the rest still read
        name = appliance_name(label)
        key = "aggregate" if name in MAINS else name
        s = read_channel(path)
        s = s[~s.index.duplicated()]
        series[key] = s if key not in series else series[key].add(s, fill_value=0)
    if "aggregate" not in series:
        raise InputError(f"{folder}/labels.dat names no mains or aggregate channel; tamgu needs the total the "
                         "meter read (REDD: 'mains', UK-DALE: 'aggregate').")
    return series


def read_csv_house(path: Path) -> dict[str, pd.Series]:
    table = pd.read_csv(path)
    cols = {c: appliance_name(c) for c in table.columns}
    table = table.rename(columns=cols)
    time = next((c for c in ("timestamp", "time", "date", "datetime") if c in table.columns), None)
    if time is None or "aggregate" not in table.columns:
        raise InputError(f"{path}: needs a 'timestamp' and an 'aggregate' column (then one column per appliance); "
                         f"it has {', '.join(map(str, table.columns[:8]))}.")
    stamps = table[time]
    index = pd.to_datetime(stamps, unit="s") if pd.api.types.is_numeric_dtype(stamps) else pd.to_datetime(stamps)
    values = table.drop(columns=[time]).apply(pd.to_numeric, errors="coerce")
    bad = values.index[values.isna().all(axis=1)]
    if len(bad):
        raise InputError(f"{path}, row {int(bad[0]) + 2}: no number in it; repair or delete that row.")
    values.index = index
    values = values[~values.index.duplicated()]
    return {c: values[c] for c in values.columns}


def resample(series: dict[str, pd.Series], period: float, where: str) -> pd.DataFrame:
    """One table at `period` seconds: the mean of each period, short holes carried over, long ones a gap."""
    agg = series["aggregate"].sort_index()
    if len(agg) < 2:
        raise InputError(f"{where}: fewer than two aggregate readings; nothing to resample.")
    native = agg.index.to_series().diff().median().total_seconds()
    if period < native / 2:
        raise InputError(f"{where}: --period {period:g} s is finer than the data's own {native:g} s between readings; "
                         f"choose --period {max(native, 1):g} or more (resampling cannot make readings up).")
    rule = pd.Timedelta(seconds=period)
    columns = {}
    for name, s in series.items():
        columns[name] = s.sort_index().resample(rule).mean().ffill(limit=MAX_FILL)
    table = pd.DataFrame(columns)
    table = table.loc[agg.index[0].floor(rule):agg.index[-1]]
    if len(table) < 2:
        raise InputError(f"{where}: --period {period:g} s leaves fewer than two readings; choose a shorter period.")
    table["gap"] = table.isna().any(axis=1)
    table = table.fillna(0.0)
    order = ["aggregate"] + sorted(c for c in table.columns if c not in ("aggregate", "gap")) + ["gap"]
    return table[order]


def find_houses(path: Path) -> list[tuple[str, Path, str]]:
    """(house name, where, layout) for a file or folder in any of the layouts above."""
    if path.is_file():
        return [(path.stem, path, "csv")]
    if not path.is_dir():
        raise MissingInput(f"{path}: no such file or folder; give a folder of house CSVs, a REDD or UK-DALE folder, "
                           "or one CSV (make one with `tamgu nilm synth DIR`).")
    root = path / "low_freq" if (path / "low_freq").is_dir() else path
    folders = sorted((p for p in root.glob("house_*") if p.is_dir()), key=lambda p: _number(p.name))
    if (root / "labels.dat").exists() or any(root.glob("channel_*.dat")):
        folders = [root]
    if folders:
        layout = "redd" if root.name == "low_freq" else "channels"
        return [(p.name, p, layout) for p in folders]
    files = sorted(path.glob("*.csv"), key=lambda p: _number(p.stem))
    if not files:
        raise InputError(f"{path}: holds no house (house_N/ folders with labels.dat and channel_M.dat, or CSV files).")
    return [(p.stem, p, "csv") for p in files]


def _number(name: str) -> tuple[int, str]:
    m = re.search(r"(\d+)$", name)
    return (int(m.group(1)) if m else 10**9, name)


def read_houses(path: str | Path, period: float | str = PERIOD) -> list[House]:
    """Every house under `path` at `period` seconds (see the module's docstring for the layouts)."""
    seconds = parse_period(period)
    houses = []
    for name, where, layout in find_houses(Path(path)):
        series = read_csv_house(where) if layout == "csv" else read_channels_house(where)
        houses.append(House(name, resample(series, seconds, str(where)), layout))
    return houses


def choose_appliances(houses: list[House], appliances: list[str] | None) -> list[str]:
    """The appliances to learn: the ones asked for (each must be in every house), else those all houses have."""
    have = [set(h.appliances) for h in houses]
    common = sorted(set.intersection(*have)) if have else []
    if not appliances:
        if not common:
            raise InputError("no appliance is metered in every house; choose some with --appliances "
                             f"(house 1 has {', '.join(houses[0].appliances) or 'none'}).")
        return common
    wanted = [appliance_name(a) for a in appliances]
    for a in wanted:
        missing = [h.name for h, s in zip(houses, have) if a not in s]
        if missing:
            raise InputError(f"--appliances {a}: not metered in {', '.join(missing[:5])}; "
                             f"every house has {', '.join(common) or 'no appliance in common'}.")
    return wanted
