"""Reading and validating datasets: the Kaggle State Farm layout (folder or zip) or any class-per-folder set.

`load_dataset` returns plain tables: `train` (img, label, y, group, path) and `test` (img, path), where
`path` is a file path or `archive.zip::member` (zips are read in place, never extracted).
"""

from __future__ import annotations

import logging
import os
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import pandas as pd

from ..errors import InputError, MissingInput, TamguError
from ..statefarm import KAGGLE_CLASSES
from ..files import IMAGE_EXTS, ZIP_SEP, decode_image, read_bytes, no_bar
from ..defaults import PROGRESS

log = logging.getLogger(__name__)

DRIVER_CSV = "driver_imgs_list.csv"
# The private leaderboard: test labels kept beside (never inside) a dataset folder, as Kaggle keeps them.
TRUTH_SUFFIX = "_test_labels.csv"
TRUTH_HEADER = ["img", "subject", "classname"]
# Written by `tamgu pseudo`: which training images are pseudo-labelled test images (train-only, never validated).
PSEUDO_CSV = "pseudo_labels.csv"
DRIVER_HEADER = ["subject", "classname", "img"]


@dataclass
class Problem:
    file: str
    what: str
    fix: str
    fatal: bool = True  # False: a run can go on and skip it (a corrupt image)

    def __str__(self) -> str:
        return f"{self.file}: {self.what}. Fix: {self.fix}"


class DataError(TamguError):
    """The dataset cannot be used as it is; `problems` lists every reason, each with its fix."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        shown = "\n".join(f"  - {p}" for p in problems[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        super().__init__(f"{len(problems)} problem(s) in the dataset:\n{shown}{more}")


@dataclass
class Dataset:
    root: str
    kind: str                      # "kaggle" or "folders"
    classes: list[str]
    train: pd.DataFrame            # img, label, y, group, path
    test: pd.DataFrame             # img, path
    sample_submission: pd.DataFrame | None = None
    problems: list[Problem] = field(default_factory=list)  # non-fatal ones found while loading
    soft: pd.DataFrame | None = None  # pseudo-labelled images' target distributions (index img, class columns)

    def summary(self) -> dict:
        t = self.train
        return {
            "root": self.root,
            "layout": self.kind,
            "classes": self.classes,
            "train_images": int(len(t)),
            "test_images": int(len(self.test)),
            "groups": int(t["group"].nunique()) if t["group"].notna().any() else 0,
            "per_class": {c: int(n) for c, n in t["label"].value_counts().reindex(self.classes, fill_value=0).items()},
            "per_group": {str(g): int(n) for g, n in t["group"].value_counts().sort_index().items()},
        }


class _Files:
    """Every file below a folder or inside a zip, by POSIX path relative to the dataset root."""

    def __init__(self, data: str | Path):
        data = Path(data)
        self.files: dict[str, str] = {}
        self.dirs: set[str] = set()  # folders, so that an empty one is told apart from a missing one
        self.outside: list[str] = []  # symbolic links to files outside the dataset folder
        if not data.exists():
            raise DataError([Problem(str(data), "does not exist", "give the dataset folder or the Kaggle .zip download")])
        if data.is_file():
            if not zipfile.is_zipfile(data):
                raise DataError([Problem(str(data), "is a file but not a zip archive",
                                         "give the dataset folder, or the competition's .zip download as it is")])
            with zipfile.ZipFile(data) as zf:
                names = [n for n in zf.namelist() if not n.endswith("/")]
            # the layout may sit under one top folder inside the zip
            prefix = ""
            for n in names:
                if n.endswith(DRIVER_CSV) or "/imgs/train/" in f"/{n}":
                    cut = n.find("imgs/train/") if "imgs/train/" in n else n.rfind(DRIVER_CSV)
                    prefix = n[:cut]
                    break
            archive = str(data.resolve())
            for n in names:
                if n.startswith(prefix):
                    self.files[n[len(prefix):]] = f"{archive}{ZIP_SEP}{n}"
        else:
            root = data.resolve()
            for dirpath, dirnames, filenames in os.walk(root):
                dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
                rel = Path(dirpath).relative_to(root).as_posix()
                self.dirs.add(rel)
                for f in filenames:
                    if not f.startswith("."):
                        key = f if rel == "." else f"{rel}/{f}"
                        self.files[key] = os.path.join(dirpath, f)
                        if os.path.islink(self.files[key]) and not Path(os.path.realpath(self.files[key])).is_relative_to(root):
                            self.outside.append(key)

    def has_dir(self, d: str) -> bool:
        if d.rstrip("/") in self.dirs:
            return True
        d = d.rstrip("/") + "/"
        return any(k.startswith(d) for k in self.files)

    def under(self, d: str) -> dict[str, str]:
        d = d.rstrip("/") + "/" if d else ""
        return {k[len(d):]: v for k, v in self.files.items() if k.startswith(d)}

    def read_csv(self, key: str) -> pd.DataFrame:
        import io

        return pd.read_csv(io.BytesIO(read_bytes(self.files[key])), dtype=str, keep_default_na=False, encoding="utf-8-sig")


def _is_image(name: str) -> bool:
    return PurePosixPath(name).suffix.lower() in IMAGE_EXTS


def _images_by_class(files: dict[str, str]) -> dict[str, list[tuple[str, str]]]:
    """{class folder: [(file name, ref)]}, images found at any depth below each class folder."""
    out: dict[str, list[tuple[str, str]]] = {}
    for rel, ref in sorted(files.items()):
        parts = rel.split("/")
        if len(parts) >= 2:
            out.setdefault(parts[0], [])
            if _is_image(rel):
                out[parts[0]].append((parts[-1], ref))
    return out


def _duplicates(names: list[str], where: str) -> list[Problem]:
    s = pd.Series(names)
    dup = sorted(set(s[s.duplicated()]))
    return [Problem(f"{where}/{n}", f"the image name appears {int((s == n).sum())} times",
                    "give every image a unique file name: ids are file names") for n in dup[:50]]


def _load_kaggle(root: str, files: _Files, problems: list[Problem]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame | None]:
    train_files = files.under("imgs/train")
    by_class = _images_by_class(train_files)
    for cls in sorted(set(by_class) - set(KAGGLE_CLASSES)):
        problems.append(Problem(f"imgs/train/{cls}", f"class folder {cls!r} is not one of c0..c9",
                                "move its images into the right c0..c9 folder or delete it"))
    for cls in KAGGLE_CLASSES:
        if not by_class.get(cls):
            problems.append(Problem(f"imgs/train/{cls}", "class has no images" if files.has_dir(f"imgs/train/{cls}")
                                    else "class folder is missing",
                                    "every class c0..c9 needs images: restore the folder from the download"))
    stray = [k for k in train_files if "/" not in k]
    for k in stray[:10]:
        problems.append(Problem(f"imgs/train/{k}", "file lies directly in imgs/train, outside any class folder",
                                "move it into its class folder c0..c9"))
    rows = [(name, cls, ref) for cls, items in by_class.items() if cls in KAGGLE_CLASSES for name, ref in items]
    found = pd.DataFrame(rows, columns=["img", "label", "path"])
    problems += _duplicates(found["img"].tolist(), "imgs/train")

    if DRIVER_CSV not in files.files:
        problems.append(Problem(DRIVER_CSV, "is missing",
                                f"put the competition's {DRIVER_CSV} (subject,classname,img) beside imgs/"))
        found["group"] = None
    else:
        meta = files.read_csv(DRIVER_CSV)
        if list(meta.columns) != DRIVER_HEADER:
            problems.append(Problem(DRIVER_CSV, f"header is {','.join(meta.columns)!r}",
                                    f"the first line must be exactly {','.join(DRIVER_HEADER)}"))
            found["group"] = None
        else:
            problems += _duplicates(meta["img"].tolist(), DRIVER_CSV)
            pathy = meta[meta["img"].str.contains(r"[/\\]|^\.\.?$", regex=True)]
            for i, r in pathy.head(10).iterrows():
                problems.append(Problem(f"{DRIVER_CSV} line {i + 2}", f"img {r['img']!r} is a path, not a file name",
                                        "img holds the file name only (img_123.jpg): its folder comes from classname"))
            meta = meta[~meta.index.isin(pathy.index)].drop_duplicates("img")
            merged = found.merge(meta, on="img", how="outer", indicator=True)
            for _, r in merged[merged["_merge"] == "right_only"].head(50).iterrows():
                problems.append(Problem(f"imgs/train/{r['classname']}/{r['img']}", f"listed in {DRIVER_CSV} but missing",
                                        f"restore the image, or delete its row from {DRIVER_CSV}"))
            for _, r in merged[merged["_merge"] == "left_only"].head(50).iterrows():
                problems.append(Problem(f"imgs/train/{r['label']}/{r['img']}", f"present but not listed in {DRIVER_CSV}",
                                        f"add a row 'subject,{r['label']},{r['img']}' to {DRIVER_CSV}, or delete the image"))
            both = merged[merged["_merge"] == "both"]
            wrong = both[both["label"] != both["classname"]]
            for _, r in wrong.head(50).iterrows():
                problems.append(Problem(f"imgs/train/{r['label']}/{r['img']}", f"{DRIVER_CSV} says class {r['classname']}",
                                        "move the image to the class folder its row names, or correct the row"))
            found = found.merge(meta.rename(columns={"subject": "group"})[["img", "group"]], on="img", how="left")

    if not files.has_dir("imgs/test"):
        problems.append(Problem("imgs/test", "folder is missing", "put the competition's test images in imgs/test"))
    test_files = files.under("imgs/test")
    test = pd.DataFrame(sorted((PurePosixPath(k).name, v) for k, v in test_files.items() if _is_image(k)),
                        columns=["img", "path"])
    problems += _duplicates(test["img"].tolist(), "imgs/test")
    sample = None
    if "sample_submission.csv" in files.files:
        sample = files.read_csv("sample_submission.csv")
        want = ["img"] + KAGGLE_CLASSES
        if list(sample.columns) != want:
            problems.append(Problem("sample_submission.csv", f"header is {','.join(sample.columns)!r}",
                                    f"the first line must be exactly {','.join(want)}"))
        elif set(sample["img"]) != set(test["img"]):
            n_miss = len(set(sample["img"]) - set(test["img"]))
            n_extra = len(set(test["img"]) - set(sample["img"]))
            problems.append(Problem("sample_submission.csv", f"{n_miss} of its images are not in imgs/test and "
                                    f"{n_extra} test images are not in it", "restore imgs/test from the download"))
    return found, test, sample


def _load_folders(root: str, files: _Files, classes: list[str] | None, groups: str | None,
                  problems: list[Problem]) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    train_dir = "train" if files.has_dir("train") and _images_by_class(files.under("train")) else ""
    train_files = files.under(train_dir)
    by_class = _images_by_class(train_files)
    if not train_dir:
        by_class.pop("test", None)
    by_class = {c: v for c, v in by_class.items() if v or classes}  # folders of non-images are not classes
    found_classes = sorted(by_class)
    if classes:
        for cls in sorted(set(found_classes) - set(classes)):
            problems.append(Problem(f"{train_dir or '.'}/{cls}", f"folder {cls!r} is not one of the declared classes {classes}",
                                    "add it to the classes, or move its images into a declared class folder"))
        for cls in classes:
            if not by_class.get(cls):
                problems.append(Problem(f"{train_dir or '.'}/{cls}", "class has no images",
                                        "add images to the class folder or drop the class from the declared classes"))
    classes = list(classes) if classes else found_classes
    if not classes:
        problems.append(Problem(root, "has no class folders with images",
                                "use imgs/train/c0..c9 (Kaggle) or one folder of images per class"))
    rows = [(name, cls, ref) for cls in classes for name, ref in by_class.get(cls, [])]
    found = pd.DataFrame(rows, columns=["img", "label", "path"])
    problems += _duplicates(found["img"].tolist(), train_dir or ".")

    group_file = groups or next((g for g in ("groups.csv", "frames.csv") if g in files.files), None)
    found["group"] = None
    if group_file:
        if groups:
            gdf = pd.read_csv(groups, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        else:
            gdf = files.read_csv(group_file)
        if not {"img", "group"} <= set(gdf.columns):
            problems.append(Problem(group_file, f"columns are {','.join(gdf.columns)!r}",
                                    "a groups CSV needs the columns img and group"))
        else:
            gdf = gdf.assign(img=gdf["img"].map(lambda s: PurePosixPath(s).name)).drop_duplicates("img")
            found = found.drop(columns="group").merge(gdf[["img", "group"]], on="img", how="left")
            missing = found[found["group"].isna()]
            for _, r in missing.head(20).iterrows():
                problems.append(Problem(f"{r['label']}/{r['img']}", f"has no row in {group_file}",
                                        f"add 'img,group' rows for every image to {group_file}"))
    test_dir = "test" if files.has_dir("test") else None
    test_items = sorted((PurePosixPath(k).name, v) for k, v in files.under(test_dir).items() if _is_image(k)) if test_dir else []
    test = pd.DataFrame(test_items, columns=["img", "path"])
    return found, test, classes


def load_dataset(data: str | Path, groups: str | None = None, classes: list[str] | None = None,
                 strict: bool = True, fixes: str | Path | None = None) -> Dataset:
    """Read a dataset's tables. With `strict`, any structural problem raises DataError listing them all.
    `fixes`: a CSV img,action,label (from `tamgu audit`) that drops or relabels training images."""
    files = _Files(data)
    problems: list[Problem] = []
    root = str(data)
    if files.has_dir("imgs/train") or DRIVER_CSV in files.files:
        kind = "kaggle"
        if classes and list(classes) != KAGGLE_CLASSES:
            problems.append(Problem(root, "the Kaggle layout has the classes c0..c9", "drop the classes option"))
        train, test, sample = _load_kaggle(root, files, problems)
        classes = KAGGLE_CLASSES
    else:
        kind = "folders"
        sample = None
        train, test, classes = _load_folders(root, files, classes, groups, problems)
    train = train.sort_values("img", kind="stable").reset_index(drop=True)
    train["y"] = train["label"].map({c: i for i, c in enumerate(classes)})
    train["pseudo"] = False
    soft = None
    if PSEUDO_CSV in files.files:
        train, soft = _mark_pseudo(train, files.read_csv(PSEUDO_CSV), classes, problems)
    train = train[["img", "label", "y", "group", "path", "pseudo"]]
    if fixes is not None:
        train = apply_fixes(train, fixes, list(classes))
    for key in files.outside[:20]:  # readable, so a run goes on; but the folder is not the whole dataset
        problems.append(Problem(key, f"is a link to {os.path.realpath(files.files[key])}, outside the dataset folder",
                                "copy the file in, or link the whole dataset folder instead, so the set travels "
                                "whole (zip, other machines)", fatal=False))
    if strict and any(p.fatal for p in problems):
        raise DataError(problems)
    return Dataset(root=root, kind=kind, classes=list(classes), train=train, test=test.reset_index(drop=True),
                   sample_submission=sample, problems=problems, soft=soft)


FIX_ACTIONS = {"drop": "drop", "relabel": "relabel", "keep": "", "": ""}


def apply_fixes(train: pd.DataFrame, fixes: str | Path, classes: list[str]) -> pd.DataFrame:
    """The training table after a fixes file: `drop` leaves an image out, `relabel` gives it the row's label;
    an empty action (or keep) changes nothing. Every row is checked first, naming its line."""
    path = Path(fixes)
    if not path.is_file():
        raise MissingInput(f"{fixes}: no such fixes file (tamgu audit RUN --out DIR writes DIR/fixes.csv to edit)")
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except pd.errors.EmptyDataError:
        raise InputError(f"{fixes} is empty: keep its header img,action,label (tamgu audit writes one).") from None
    if not {"img", "action"} <= set(table.columns):
        raise InputError(f"{fixes}: a fixes file needs the columns img,action (and label for relabel); it has "
                         f"{', '.join(table.columns)}")
    known = set(train["img"])
    if "label" not in table:
        table["label"] = ""
    drop, relabel = set(), {}
    for i, r in enumerate(table.itertuples(index=False), start=2):
        action = FIX_ACTIONS.get(str(r.action).strip().lower())
        where = f"{fixes}, line {i}"
        if action is None:
            raise InputError(f"{where}: action {r.action!r}: write drop, relabel, or leave it empty to keep the image")
        if not action:
            continue
        if r.img not in known:
            raise InputError(f"{where}: {r.img} is not a training image of this dataset (a fixes file of another "
                             "set?)")
        if action == "relabel" and r.label not in classes:
            raise InputError(f"{where}: relabel to {r.label!r}, which is not a class ({', '.join(classes)})")
        if action == "drop":
            drop.add(r.img)
        else:
            relabel[r.img] = r.label
    train = train[~train["img"].isin(drop)].reset_index(drop=True)
    new = train["img"].map(relabel)
    train["label"] = new.fillna(train["label"])
    train["y"] = train["label"].map({c: i for i, c in enumerate(classes)})
    train.attrs["fixes"] = {"dropped": len(drop), "relabelled": len(relabel)}
    return train


def _mark_pseudo(train: pd.DataFrame, pseudo: pd.DataFrame, classes: list[str], problems: list[Problem]
                 ) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Flag the training images that `tamgu pseudo` added (they train in every fold and validate in none)."""
    if "img" not in pseudo.columns:
        problems.append(Problem(PSEUDO_CSV, "has no img column", "rebuild the dataset with tamgu pseudo"))
        return train, None
    unknown = sorted(set(pseudo["img"]) - set(train["img"]))
    if unknown:
        problems.append(Problem(PSEUDO_CSV, f"lists {len(unknown)} images not in the training set (e.g. {unknown[0]})",
                                "rebuild the dataset with tamgu pseudo"))
    train["pseudo"] = train["img"].isin(set(pseudo["img"]))
    soft = None
    if set(classes) <= set(pseudo.columns):
        soft = pseudo.set_index("img")[classes].astype(float)
    return train, soft


def find_unreadable(refs: list[str], labels: list[str] | None = None, workers: int = 4,
                    progress: bool = False) -> list[Problem]:
    """Decode every image (at 1/8 size: fast) and report the empty and corrupt ones."""
    from tqdm.auto import tqdm

    def probe(ref: str) -> str | None:
        try:
            data = read_bytes(ref)
        except (OSError, KeyError):
            return "cannot be read"
        if not data:
            return "is an empty (zero-byte) file"
        reduce = 8 if data[:2] == b"\xff\xd8" else 1
        return None if decode_image(data, reduce) is not None else "is not a readable image (corrupt or truncated)"

    with ThreadPoolExecutor(workers) as pool:
        results = list(tqdm(pool.map(probe, refs), total=len(refs), desc="decoding", disable=no_bar(progress), leave=False))
    return [Problem(ref.split(ZIP_SEP)[-1], why, "delete it or replace it with a good copy; training skips it", fatal=False)
            for ref, why in zip(refs, results) if why]


def check(data: str | Path, groups: str | None = None, classes: list[str] | None = None,
          decode: bool = True, folds: int | None = None, progress: bool = PROGRESS) -> dict:
    """Validate a dataset and return its summary; raise DataError listing every problem, with fixes. The
    summary's `warnings` say what `train --split group` would refuse later (a class in fewer groups than folds).

    Args:
        data: Kaggle folder, Kaggle .zip, or class-per-folder image set
        classes: comma-separated class names the folders must match
        decode: decode every image (off: faster, misses corrupt ones)
        folds: the folds training will use (default: train's)
    """
    ds = load_dataset(data, groups=groups, classes=classes, strict=False)
    problems = list(ds.problems)
    if decode:
        problems += find_unreadable(ds.train["path"].tolist() + ds.test["path"].tolist(), progress=progress)
    if problems:
        raise DataError(problems)
    summary = ds.summary()
    summary["warnings"] = group_warnings(ds.train, folds)
    return summary


def group_warnings(train: pd.DataFrame, folds: int | None = None) -> list[str]:
    """Classes whose images come from fewer groups than folds: folds by group leave some fold without them."""
    from .config import TrainConfig

    k = folds or TrainConfig.model_fields["folds"].default
    if not len(train) or not train["group"].notna().any():
        return []
    per = train.groupby("label")["group"].nunique()
    few = per[per < k]
    if few.empty:
        return []
    return [f"{', '.join(f'{c} is in {n} group(s)' for c, n in few.items())}, fewer than {k} folds: "
            f"`train --split group --folds {k}` will refuse this set, since some fold would train without those "
            "classes. Label the class in more videos (or drivers), or use fewer folds."]


def truth_path(data: str | Path) -> Path:
    """Where `tamgu synth` writes the test labels of dataset `data`: beside the folder, not inside it."""
    data = Path(data)
    return data.with_name(data.name + TRUTH_SUFFIX)


def find_truth(data: str | Path) -> Path | None:
    """The private-leaderboard labels of `data`, if they exist beside it."""
    path = truth_path(data)
    return path if path.is_file() else None


def read_truth(path: str | Path, classes: list[str]) -> pd.DataFrame:
    """Held-out labels (img, classname[, subject]) as a table img, label, y, group; DataError if malformed."""
    path = Path(path)
    if not path.is_file():
        raise DataError([Problem(str(path), "does not exist", "give the test labels CSV written by tamgu synth "
                                 f"(DATA{TRUTH_SUFFIX}), or a labelled dataset folder")])
    df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    if not {"img", "classname"} <= set(df.columns):
        raise DataError([Problem(str(path), f"columns are {','.join(df.columns)!r}",
                                 f"a test labels CSV needs the columns img,classname (written as {','.join(TRUTH_HEADER)})")])
    bad = sorted(set(df["classname"]) - set(classes))
    if bad:
        raise DataError([Problem(str(path), f"unknown classes {bad[:5]}", f"labels must be among {classes}")])
    if df["img"].duplicated().any():
        raise DataError([Problem(str(path), f"repeats image {df.loc[df['img'].duplicated(), 'img'].iloc[0]}",
                                 "keep one row per test image")])
    out = pd.DataFrame({"img": df["img"], "label": df["classname"],
                        "y": df["classname"].map({c: i for i, c in enumerate(classes)}).astype(int),
                        "group": df["subject"] if "subject" in df else None})
    return out
