"""The run folder, tamgu's central contract: everything a later step needs, nothing it must guess.

    RUN/config.yaml      the resolved config (TrainConfig; ensembles and smoothing write their own keys)
    RUN/folds.csv        img,label,group,fold
    RUN/fold<k>/         best.ckpt, config.yaml (+ folds_sha1), metrics.csv, history.csv, oof.csv, test_pred.csv
    RUN/oof.csv          img,fold,c0..c9 (every training image once)
    RUN/test_pred.csv    img,fold,c0..c9 (every fold's test predictions)
    RUN/submission.csv   img,c0..c9 (fold mean)
    RUN/summary.json     per-fold and overall scores, held-out beside OOF
    RUN/tuned.json       what --batch-size auto / --lr-find found, used by every fold and by a resumed run
    RUN/familiar.npz     what `watch --familiar` calibrates on (first fold's training features, held-out distances)

A run is read and written through one object, `Run(path)`: `.config` (the TrainConfig of a trained run),
`.settings` (config.yaml as saved: an ensemble's or a smoothed run's own keys), `.classes`, `.folds()`,
`.oof()` / `.test()` / `.submission()` (checked by `table`), `.predictions()`, `.checkpoints`, `.summary`,
and one `.write(...)` for the prediction files, the summary and the config. Every step that reads or writes a
run goes through it (or the few helpers below it); none parses folder names or reads a run's CSV itself.
"""

from __future__ import annotations

import functools
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from ..errors import InputError, MissingInput

CONFIG, FOLDS, OOF, TEST, SUBMISSION, SUMMARY, FEATURES = (
    "config.yaml", "folds.csv", "oof.csv", "test_pred.csv", "submission.csv", "summary.json", "features.npz")
CHECKPOINT = "best.ckpt"
TUNED = "tuned.json"  # what --batch-size auto / --lr-find found (pipeline.tuning)
FAMILIAR = "familiar.npz"  # training features and held-out distances that calibrate `watch --familiar`
RUN_FILES = (CONFIG, FOLDS, OOF, TEST, SUBMISSION, SUMMARY, FEATURES, TUNED, FAMILIAR)  # what tamgu writes at the top of a run
_FOLD = re.compile(r"fold(\d+)$")


def fold_dir(run: str | Path, k: int) -> Path:
    return Path(run) / f"fold{int(k)}"


def fold_number(path: str | Path) -> int | None:
    """3 for `RUN/fold3` (or a file inside it), None for anything else."""
    p = Path(path)
    m = _FOLD.match(p.name) or _FOLD.match(p.parent.name)
    return int(m.group(1)) if m else None


def fold_dirs(run: str | Path) -> dict[int, Path]:
    """Fold number -> folder, for every fold<k>/ folder of the run, in order."""
    found = {fold_number(d): d for d in Path(run).glob("fold*") if d.is_dir() and _FOLD.match(d.name)}
    return dict(sorted(found.items()))


def checkpoints(run: str | Path) -> dict[int, Path]:
    """Fold number -> best.ckpt, for the folds that have one."""
    return {k: d / CHECKPOINT for k, d in fold_dirs(run).items() if (d / CHECKPOINT).is_file()}


def fold_done(run: str | Path, k: int) -> bool:
    d = fold_dir(run, k)
    return (d / OOF).is_file() and (d / TEST).is_file()


def finished_folds(run: str | Path) -> list[int]:
    return [k for k in fold_dirs(run) if (fold_dir(run, k) / OOF).is_file()]


def is_run(run: str | Path) -> bool:
    return (Path(run) / CONFIG).is_file()


def read_config(run: str | Path, k: int | None = None) -> dict[str, Any]:
    """The run's (or fold k's) config.yaml as saved, {} when there is none: for comparing and for reading
    keys other steps wrote (an ensemble's members, a smoothed run's source)."""
    path = (fold_dir(run, k) if k is not None else Path(run)) / CONFIG
    return (yaml.safe_load(path.read_text(encoding="utf-8")) or {}) if path.is_file() else {}


def load_run_config(run: str | Path, **overrides: Any):
    """The run's TrainConfig (older run folders load too), with `overrides` on top; FileNotFoundError naming
    the fix when `run` is not a run folder."""
    from .config import load_config

    run = Path(run)
    if not is_run(run):
        raise MissingInput(f"{run} is not a tamgu run folder (no {CONFIG}): give the --out of a tamgu train run.")
    return load_config(run / CONFIG, **overrides)


def require_checkpoints(run: str | Path) -> dict[int, Path]:
    found = checkpoints(run)
    if not found:
        raise MissingInput(f"no fold*/{CHECKPOINT} in {run}: train the run first (tamgu train).")
    return found


def fold_checkpoints(run: str | Path, fold: int | None = None) -> dict[int, Path]:
    """Every fold's best.ckpt, or only fold `fold`'s (ValueError naming the folds there are)."""
    found = require_checkpoints(run)
    if fold is None:
        return found
    if fold not in found:
        raise InputError(f"--fold {fold}: {run} has the folds {sorted(found)}.")
    return {fold: found[fold]}


def read_summary(run: str | Path) -> dict[str, Any]:
    path = Path(run) / SUMMARY
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def read_tuned(run: str | Path) -> dict[str, Any]:
    path = Path(run) / TUNED
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def write_tuned(run: str | Path, tuned: dict[str, Any]) -> None:
    from ..files import write_json

    Path(run).mkdir(parents=True, exist_ok=True)
    write_json(tuned, Path(run) / TUNED)


def read_folds(run: str | Path) -> pd.DataFrame | None:
    path = Path(run) / FOLDS
    return pd.read_csv(path, dtype={"img": str, "group": str}) if path.is_file() else None


def discard(run: str | Path) -> None:
    """Delete what tamgu wrote in a run folder (fold folders and run files); anything else is left alone."""
    run = Path(run)
    for f in RUN_FILES:
        (run / f).unlink(missing_ok=True)
    for d in fold_dirs(run).values():
        shutil.rmtree(d)


class Run:
    """One run folder (a trained run, an ensemble or a smoothed run): what it holds, read and checked, and the
    one way its files are written. Old run folders load: missing optional files read as empty."""

    def __init__(self, path: str | Path | "Run"):
        self.path = Path(path.path if isinstance(path, Run) else path)

    def __repr__(self) -> str:
        return f"Run({str(self.path)!r})"

    def __fspath__(self) -> str:
        return str(self.path)

    # ------------------------------------------------------------------------------------------ reading
    @property
    def exists(self) -> bool:
        return is_run(self.path)

    @functools.cached_property
    def settings(self) -> dict[str, Any]:
        """config.yaml as saved ({} when there is none): a trained run's config, an ensemble's members, a
        smoothed run's source; read once per Run."""
        return read_config(self.path)

    @functools.cached_property
    def config(self):
        """The TrainConfig of a trained run (MissingInput naming the fix when this is not a run folder)."""
        return load_run_config(self.path)

    @property
    def kind(self) -> str:
        """train, ensemble or smooth."""
        return self.settings.get("kind", "train")

    @property
    def data(self) -> str | None:
        return self.settings.get("data")

    @property
    def truth(self) -> str | None:
        return self.settings.get("truth")

    @property
    def summary(self) -> dict[str, Any]:
        return read_summary(self.path)

    @property
    def checkpoints(self) -> dict[int, Path]:
        return checkpoints(self.path)

    @property
    def models_key(self) -> str:
        """The fold models as they are on disk (path, size, modification time): what a cache of features
        computed with them is keyed by."""
        return json.dumps({str(k): [str(p), p.stat().st_size, p.stat().st_mtime_ns]
                           for k, p in self.checkpoints.items()}, sort_keys=True)

    def fold_checkpoints(self, fold: int | None = None) -> dict[int, Path]:
        return fold_checkpoints(self.path, fold)

    def folds(self) -> pd.DataFrame | None:
        return read_folds(self.path)

    def oof(self) -> pd.DataFrame:
        """img, fold, then one probability column per class: every training image once, checked."""
        from .table import TableError, read_fold_table

        oof = read_fold_table(self.path / OOF, "OOF table")
        if oof["img"].duplicated().any():
            raise TableError(f"{self.path / OOF} repeats images: each training image belongs in one fold.")
        return oof

    def test(self) -> pd.DataFrame:
        """img, fold, then the class columns: every fold's test predictions, checked."""
        from .table import read_fold_table

        return read_fold_table(self.path / TEST, "test prediction table")

    def submission(self) -> pd.DataFrame:
        from .table import read_predictions

        return read_predictions(self.path / SUBMISSION, what="submission")

    @property
    def classes(self) -> list[str]:
        """The class columns of the run's OOF table."""
        return list(self.oof().columns[2:])

    def fold_table(self, k: int, name: str) -> pd.DataFrame:
        """fold k's oof.csv or test_pred.csv, checked."""
        from .table import read_fold_table

        return read_fold_table(fold_dir(self.path, k) / name, f"fold {k}'s {name}")

    def predictions(self) -> dict[str, Any]:
        """A finished run's prediction files, checked: OOF and test (img, fold, classes), the classes, and the
        truth and data its config names."""
        from .table import TableError

        oof, test = self.oof(), self.test()
        classes = list(oof.columns[2:])
        if list(test.columns[2:]) != classes:
            raise TableError(f"{self.path}: {OOF} and {TEST} have different class columns.")
        return {"run": str(self.path), "oof": oof, "test": test, "classes": classes, "truth": self.truth,
                "data": self.data}

    # ------------------------------------------------------------------------------------------ writing
    def write(self, *, oof: pd.DataFrame | None = None, test: pd.DataFrame | None = None,
              submission: pd.DataFrame | None = None, folds: pd.DataFrame | None = None,
              summary: dict[str, Any] | None = None, config: Any = None) -> None:
        """Write the given run files atomically (a file not given is left as it is). `config` is a
        TrainConfig (saved with every field) or a dict of an ensemble's or smoothed run's own keys."""
        from ..files import write_csv, write_json, write_yaml

        self.path.mkdir(parents=True, exist_ok=True)
        for name, table in ((OOF, oof), (TEST, test), (SUBMISSION, submission), (FOLDS, folds)):
            if table is not None:
                write_csv(table, self.path / name)
        if config is not None:
            if hasattr(config, "to_dict"):
                from .config import save_config

                save_config(config, self.path / CONFIG)
            else:
                write_yaml(config, self.path / CONFIG)
            self.__dict__.pop("settings", None)
            self.__dict__.pop("config", None)
        if summary is not None:
            write_json(summary, self.path / SUMMARY)
