"""`tamgu report RUN --out report.html`: a run, an ensemble or the chapter's results folder as one page.

Reads only what the pipeline wrote (config.yaml, summary.json, folds.csv, oof.csv, test_pred.csv,
fold*/history.csv, fold*/best.ckpt), never the training code's state. For a run: OOF beside held-out,
the fold table, training curves with the early-stopping point, the OOF confusion matrix, per-class log
loss, a reliability diagram, the most confidently wrong OOF images (wrong-label candidates) and Grad-CAM
over samples of each class and over the worst mistakes, each by the fold model that never saw the image.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import MissingInput
from ..pipeline import runfolder
from ..pipeline.data import load_dataset, read_truth
from ..statefarm import CLASS_DESCRIPTIONS
from ..pipeline.metrics import EPS
from ..pipeline.table import class_columns
from .figures import reliability_figure
from .page import Page

REQUIRED = (runfolder.CONFIG, runfolder.SUMMARY, runfolder.OOF)  # what a finished run, ensemble or smooth has


def report(run: str | Path, out: str | Path | None = None, gradcam: bool = True, worst: int = 12,
           per_class: int = 2) -> Page:
    """The page of a run folder, an ensemble folder (`tamgu ensemble`), a `tamgu reproduce`, `tamgu watch`,
    `tamgu cracks` or `tamgu nilm` folder, saved to `out` (default RUN/report.html); returns the page, which displays inline in
    a notebook.

    Args:
        run: run folder (tamgu train), ensemble folder (tamgu ensemble), or a tamgu reproduce, watch, cracks or nilm folder
        out: the page (default RUN/report.html)
        gradcam: Grad-CAM heat maps (off: faster)
        worst: confidently wrong OOF images to show
        per_class: Grad-CAM samples per class
    """
    from .audit_page import audit_page, is_audit_folder
    from .cracks_page import cracks_page, is_cracks_folder
    from .nilm_page import is_nilm_folder, nilm_page

    run = Path(run)
    if (run / "results.csv").is_file():
        page = chapter_page(run)
    elif is_audit_folder(run):
        page = audit_page(run)
    elif is_cracks_folder(run):
        page = cracks_page(run)
    elif is_nilm_folder(run):
        page = nilm_page(run)
    elif (run / "timeline.csv").is_file() and (run / "summary.json").is_file():
        page = watch_page(run, gradcam)
    elif all((run / f).is_file() for f in REQUIRED):
        kind = runfolder.Run(run).kind
        page = ensemble_page(run) if kind == "ensemble" else run_page(run, gradcam, worst, per_class)
    else:
        missing = [f for f in REQUIRED if not (run / f).is_file()]
        raise MissingInput(
            f"{run} is not a finished run: {', '.join(missing)} missing. Give a folder written by tamgu train "
            "(after every fold finished, or tamgu collect), tamgu ensemble, tamgu reproduce, tamgu watch, tamgu cracks or tamgu nilm.")
    page.save(Path(out) if out else run / "report.html")
    return page  # a notebook shows it once, through Page._repr_html_


# --- pieces shared by the pages -------------------------------------------------------------------

def _classes(oof: pd.DataFrame) -> list[str]:
    return class_columns(oof)


def _labelled(oof: pd.DataFrame, folds: pd.DataFrame, classes: list[str]) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    m = oof.merge(folds[["img", "label", "group"]], on="img", how="inner", suffixes=("", "_f"))
    y = m["label"].map({c: i for i, c in enumerate(classes)}).to_numpy()
    return m, y, m[classes].to_numpy(np.float64)


def per_class_loss(y: np.ndarray, p: np.ndarray, classes: list[str]) -> pd.DataFrame:
    """Log loss and accuracy of the images of each true class."""
    p = np.clip(p / p.sum(1, keepdims=True), EPS, 1 - EPS)
    rows = []
    for k, c in enumerate(classes):
        sel = y == k
        rows.append({"class": c, "설명": CLASS_DESCRIPTIONS.get(c, ("", ""))[1], "images": int(sel.sum()),
                     "log_loss": float(-np.log(p[sel, k]).mean()) if sel.any() else np.nan,
                     "accuracy": float((p[sel].argmax(1) == k).mean()) if sel.any() else np.nan})
    return pd.DataFrame(rows)


def confusion_figure(y: np.ndarray, p: np.ndarray, classes: list[str], title: str):
    import matplotlib.pyplot as plt
    from sklearn.metrics import confusion_matrix

    cm = confusion_matrix(y, p.argmax(1), labels=range(len(classes)))
    fig, ax = plt.subplots(figsize=(5.2, 4.6))
    ax.imshow(cm, cmap="Blues")
    for (i, j), v in np.ndenumerate(cm):
        if v:
            ax.text(j, i, str(v), ha="center", va="center", fontsize=7, color="white" if v > cm.max() / 2 else "black")
    ax.set_xticks(range(len(classes)), classes, fontsize=8)
    ax.set_yticks(range(len(classes)), classes, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def curves_figure(run: Path, training: dict):
    """Train and validation log loss per epoch for each fold; the best (restored) epoch marked."""
    import matplotlib.pyplot as plt

    folds = [k for k, d in runfolder.fold_dirs(run).items() if (d / "history.csv").is_file()]
    if not folds:
        return None
    cols = min(len(folds), 3)
    rows = -(-len(folds) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3 * rows), squeeze=False)
    for ax in axes.ravel()[len(folds):]:
        ax.axis("off")
    for ax, k in zip(axes.ravel(), folds):
        h = pd.read_csv(runfolder.fold_dir(run, k) / "history.csv")
        ax.plot(h["epoch"], h["train_loss"], "o-", ms=3, label="train")
        ax.plot(h["epoch"], h["val_loss"], "o-", ms=3, label="validation (unseen drivers)")
        best = training.get(str(k), {}).get("best_epoch", -1)
        if best >= 0:
            ax.axvline(best, color="tab:red", ls="--", lw=1)
            v = h.loc[h["epoch"] == best, "val_loss"]
            if len(v):
                ax.plot([best], [v.iloc[0]], "*", color="tab:red", ms=12, label=f"best epoch {best} (kept)")
        ax.set_title(f"fold {k}")
        ax.set_xlabel("epoch")
        ax.set_ylabel("log loss")
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def _desc(c: str) -> str:
    ko = CLASS_DESCRIPTIONS.get(c, ("", ""))[1]
    return f"{c} {ko}".strip()


# --- a run ----------------------------------------------------------------------------------------

def run_page(run: Path, gradcam: bool = True, worst: int = 12, per_class: int = 2) -> Page:
    r = runfolder.Run(run)
    cfg, summary, oof, folds = r.settings, r.summary, r.oof(), r.folds()
    classes = _classes(oof)
    m, y, p = _labelled(oof, folds, classes)
    truth = locate(summary.get("truth"), run)
    held = read_truth(truth, classes) if truth is not None and truth.is_file() else None
    test_p = None
    if held is not None and (run / runfolder.SUBMISSION).is_file():
        sub = r.submission()
        hm = held.merge(sub, on="img", how="inner")
        test_p, test_y = hm[classes].to_numpy(np.float64), hm["y"].to_numpy()
    paths = _image_paths(locate(cfg.get("data"), run))

    page = Page(f"Run: {run.name}", f"{run.resolve()} · model {cfg.get('model')} · weights {cfg.get('weights')} · "
                f"split {cfg.get('split')} · {cfg.get('folds')} folds · image size {cfg.get('image_size')}", lang="ko")
    with page.section("Scores", "scores") as s:
        rows = [{"what": f"OOF (driver CV, {summary['oof']['images']} images)", "log_loss": summary["oof"]["log_loss"],
                 "accuracy": summary["oof"]["accuracy"]}]
        if "heldout" in summary:
            h = summary["heldout"]
            rows.append({"what": f"held-out test ({h['images']} images of unseen drivers)", "log_loss": h["log_loss"],
                         "accuracy": h["accuracy"]})
            rows.append({"what": "gap (held-out - OOF)", "log_loss": h["log_loss"] - summary["oof"]["log_loss"],
                         "accuracy": h["accuracy"] - summary["oof"]["accuracy"]})
        rows.append({"what": "uniform guess", "log_loss": summary.get("uniform_log_loss", np.log(len(classes))),
                     "accuracy": 1 / len(classes)})
        s.table(pd.DataFrame(rows))
        s.text("OOF is the estimate; the held-out test set (drivers no fold has seen, labels from tamgu synth) is "
               "the judge. Read both.", "note")
    with page.section("Folds", "folds") as s:
        rows = []
        for k, v in summary.get("per_fold", {}).items():
            t = summary.get("training", {}).get(k, {})
            hf = summary.get("heldout", {}).get("per_fold", {}).get(k, {})
            rows.append({"fold": int(k), "val images": v["images"], "val log loss": v["log_loss"], "val acc": v["accuracy"],
                         "held-out log loss": hf.get("log_loss", np.nan), "best epoch": t.get("best_epoch"),
                         "epochs": t.get("epochs"), "seconds": t.get("seconds")})
        s.table(pd.DataFrame(rows))
        drivers = folds.groupby("fold")["group"].apply(lambda g: ", ".join(sorted(map(str, g.dropna().unique()))))
        s.table(drivers.rename("validation drivers").reset_index())
    with page.section("Training curves", "curves") as s:
        fig = curves_figure(run, summary.get("training", {}))
        if fig is None:
            s.text("(no fold history)", "note")
        else:
            s.text("The red star is the epoch whose weights were kept (lowest validation log loss); training "
                   "stopped `patience` epochs later.")
            s.figure(fig, "training curves")
    with page.section("Confusion matrix", "confusion") as s:
        s.figure(confusion_figure(y, p, classes, "OOF"), "OOF confusion matrix")
        if test_p is not None:
            s.figure(confusion_figure(test_y, test_p, classes, "held-out test"), "held-out confusion matrix")
    with page.section("Per-class log loss", "per-class") as s:
        table = per_class_loss(y, p, classes).rename(columns={"log_loss": "OOF log loss", "accuracy": "OOF acc"})
        if test_p is not None:
            ht = per_class_loss(test_y, test_p, classes)
            table["held-out log loss"], table["held-out acc"] = ht["log_loss"], ht["accuracy"]
        s.table(table)
    with page.section("Calibration", "calibration") as s:
        s.figure(reliability_figure(y, p, "OOF reliability"), "reliability diagram")
        if test_p is not None:
            s.figure(reliability_figure(test_y, test_p, "held-out reliability"), "held-out reliability diagram")
    wrong = m.assign(pred=p.argmax(1), conf=p.max(1), y=y)
    wrong = wrong[wrong["pred"] != wrong["y"]].sort_values("conf", ascending=False).head(worst)
    with page.section("Confidently wrong", "wrong") as s:
        s.text("The OOF images the model was surest about and got wrong: wrong labels, or what the model "
               "confuses. One confident mistake costs up to -log(1e-15) = 34.5 in log loss.")
        s.gallery([(_read(paths, r["img"]), f"{r['img']} · {r['group']} · true {_desc(r['label'])} · "
                    f"predicted {_desc(classes[r['pred']])} {r['conf']:.2f}") for _, r in wrong.iterrows()], thumb=180)
    if gradcam:
        with page.section("Grad-CAM", "gradcam") as s:
            _gradcam_section(s, run, cfg, m, y, p, classes, paths, wrong, per_class)
    return page


def locate(path: str | None, run: Path) -> Path | None:
    """A path a run recorded as given (often relative to where training ran): as is, else relative to
    the run folder or one of its parents; None when it is nowhere."""
    if not path:
        return None
    p = Path(path)
    if p.exists() or p.is_absolute():
        return p if p.exists() else None
    for base in [run, *run.resolve().parents]:
        if (base / p).exists():
            return base / p
    return None


def _image_paths(data) -> dict[str, str]:
    if not data:
        return {}
    try:
        ds = load_dataset(data, strict=False)
    except (OSError, ValueError):
        return {}
    return dict(zip(ds.train["img"], ds.train["path"])) | dict(zip(ds.test["img"], ds.test["path"]))


def _read(paths: dict[str, str], img: str):
    from ..files import read_image

    return read_image(paths[img]) if img in paths else None


def _gradcam_section(s, run, cfg, m, y, p, classes, paths, wrong, per_class):
    from ..runtime import parse_image_size
    from ..pipeline.inference import run_models
    from ..pipeline.module import load_checkpoint
    from .heatmaps import gradcam, overlay

    if not paths:
        s.text(f"The images of {cfg.get('data')} are not here (nor relative to the run folder): Grad-CAM needs "
               "them.", "note")
        return
    s.text("Where the evidence lies, by the fold model that never saw the image (last convolutional stage). "
           "Samples of each class: the map of the true class. Mistakes: the map of the predicted class, then "
           "of the true one.")
    rng = np.random.default_rng(0)
    picks = []  # (row, class to explain, caption)
    mm = m.assign(y=y, pred=p.argmax(1), conf=p.max(1))
    for k, c in enumerate(classes):
        rows = mm[mm["y"] == k]
        for _, r in rows.iloc[rng.permutation(len(rows))[:per_class]].iterrows():
            picks.append((r, k, f"{r['img']} · {_desc(c)} · p {p[r.name, k]:.2f}"))
    for _, r in wrong.head(6).iterrows():
        picks.append((r, int(r["pred"]), f"{r['img']} · predicted {_desc(classes[r['pred']])} {r['conf']:.2f}"))
        picks.append((r, int(r["y"]), f"{r['img']} · true {_desc(r['label'])}"))
    size = parse_image_size(cfg.get("image_size") or 224)
    ckpts = runfolder.checkpoints(run)
    items = []
    for fold, group in pd.DataFrame([(r["fold"], i) for i, (r, _, _) in enumerate(picks)], columns=["fold", "i"]).groupby("fold"):
        if int(fold) not in ckpts:
            continue
        chosen = [i for i in group["i"] if picks[i][0]["img"] in paths]
        targets = np.array([picks[i][1] for i in chosen], dtype=int)
        # the inference loop decodes and batches; Grad-CAM needs gradients, so it runs as the loop's output
        out = run_models({0: load_checkpoint(ckpts[int(fold)]).net}, [paths[picks[i][0]["img"]] for i in chosen],
                         size, output=lambda net, x, rows: gradcam(net, x, targets[rows].tolist()), batch_size=8,
                         progress=False)
        for j, i in enumerate(chosen):
            if not out.readable[j]:
                continue
            r, k, caption = picks[i]
            full = _read(paths, r["img"])  # drawn over the original picture, sharper than the model's input
            if full is not None:
                items.append((i, overlay(full, out.values[0][j]), caption))
    s.gallery([(im, cap) for _, im, cap in sorted(items, key=lambda t: t[0])], thumb=180)


# --- an ensemble ----------------------------------------------------------------------------------

def ensemble_page(run: Path) -> Page:
    r = runfolder.Run(run)
    summary, oof = r.summary, r.oof()
    classes = _classes(oof)
    members = summary.get("members", [])
    member_dirs = [locate(m, run) for m in members]
    first = member_dirs[0] if member_dirs else None
    folds = runfolder.Run(first).folds() if first is not None else None
    page = Page(f"Ensemble: {run.name}", f"{run.resolve()} · method {summary.get('method')} · {len(members)} members",
                lang="ko")
    with page.section("Members and blend", "members") as s:
        table = pd.DataFrame(summary.get("table", []))
        if summary.get("weights") is not None and len(np.ravel(summary["weights"])) == len(members):
            table.loc[: len(members) - 1, "weight"] = np.ravel(summary["weights"])
        s.table(table)
        s.text("Each member and the blend, OOF beside held-out: a blend that helps OOF and hurts held-out "
               "is a finding, not a success.", "note")
        if len(table):
            s.figure(_steps_figure(table.rename(columns={"member": "step"}).assign(
                step=lambda d: d["step"].map(lambda v: Path(str(v)).name))), "members and blend")
    if folds is not None:
        _, y, p = _labelled(oof, folds, classes)
        with page.section("Per-class log loss", "per-class") as s:
            pcs = {"blend": per_class_loss(y, p, classes)}
            for mem in member_dirs:
                if mem is not None and (mem / runfolder.OOF).is_file():
                    _, my, mp = _labelled(runfolder.Run(mem).oof(), folds, classes)
                    pcs[mem.name] = per_class_loss(my, mp, classes)
            table = pcs["blend"][["class", "설명"]].copy()
            for name, t in pcs.items():
                table[f"{name} OOF"] = t["log_loss"]
            s.table(table)
        with page.section("Confusion matrix", "confusion") as s:
            s.figure(confusion_figure(y, p, classes, "blend, OOF"), "OOF confusion matrix")
        with page.section("Calibration", "calibration") as s:
            s.figure(reliability_figure(y, p, "blend, OOF reliability"), "reliability diagram")
            calib = run / "calibration.png"
            if calib.is_file():
                import matplotlib.image as mpimg

                s.raw('<p class="note">Before and after temperature scaling / clipping:</p>')
                s.gallery([((mpimg.imread(calib)[..., :3] * 255).astype(np.uint8), "calibration.png")], thumb=420)
    with page.section("Settings", "settings") as s:
        s.table(pd.DataFrame({"key": list(r.settings), "value": [str(v) for v in r.settings.values()]}))
    return page


# --- the chapter's results table ------------------------------------------------------------------

def _steps_figure(table: pd.DataFrame):
    import matplotlib.pyplot as plt

    names = table["step"].astype(str).tolist()
    x = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(max(6, 0.8 * len(names) + 2), 3.6))
    ax.bar(x - 0.2, table["oof_log_loss"], 0.4, label="OOF (estimate)", color="tab:blue")
    if "heldout_log_loss" in table and table["heldout_log_loss"].notna().any():
        ax.bar(x + 0.2, table["heldout_log_loss"], 0.4, label="held-out (the judge)", color="tab:orange")
    ax.axhline(np.log(10), color="grey", ls="--", lw=1, label="uniform guess (10 classes)")
    ax.set_xticks(x, names, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("log loss (lower is better)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def chapter_page(run: Path) -> Page:
    table = pd.read_csv(run / "results.csv")
    page = Page("Chapter 5, step by step", f"{run.resolve()} · tamgu reproduce chapter5", lang="ko")
    with page.section("Results", "results") as s:
        s.table(table)
        s.text("Each row is one step of the book (1-6) or of the winners (7-10), measured two ways: OOF on driver "
               "folds, and the held-out test drivers no model has seen.", "note")
    with page.section("Each step's effect", "effect") as s:
        s.figure(_steps_figure(table.assign(step=table["step"].astype(str) + " " + table.get("title", "").astype(str))),
                 "log loss per step")
        if len(table) > 1:
            delta = table[["step", "title"]].copy()
            delta["OOF change"] = table["oof_log_loss"].diff()
            if "heldout_log_loss" in table:
                delta["held-out change"] = table["heldout_log_loss"].diff()
            s.table(delta)
    return page


# --- a watched video ------------------------------------------------------------------------------

def watch_page(folder: Path, gradcam: bool = True, per_segment: int = 1) -> Page:
    """`tamgu report DIR` of a `tamgu watch` folder: the timeline with segments and alerts, a frame of each
    segment, and Grad-CAM on them by the run's first fold."""
    from ..files import read_image
    from ..live.watch import read_watch
    from ..pipeline.synthetic import schedule_path
    from ..live.timeline import timeline_figure

    w = read_watch(folder)
    s, table, segs = w["summary"], w["timeline"], w["segments"]
    classes = s["classes"]
    truth_file = schedule_path(s["source"]) if "://" not in s["source"] else None
    truth = pd.read_csv(truth_file) if truth_file is not None and truth_file.is_file() else None
    page = Page(f"Watch: {Path(s['source']).name}", f"{folder.resolve()} · {s['frames_processed']} frames · "
                f"{s['achieved_fps']} fps · engine {s['engine']}", lang="ko")
    with page.section("Timeline", "timeline") as sec:
        sec.figure(timeline_figure(table, segs, classes, w.get("alerts"), truth), "timeline")
        facts = pd.DataFrame([
            ("frames read / processed / dropped", f"{s['frames_read']} / {s['frames_processed']} / {s['frames_dropped']}"),
            ("achieved fps (real time x)", f"{s['achieved_fps']} ({s['realtime_factor']}x)"),
            ("latency mean / p95 (ms)", f"{s['latency_ms']['mean']} / {s['latency_ms']['p95']}" if s["latency_ms"] else "–"),
            ("smoothing (s)", s["smooth_s"]), ("alert", s["alert"] or "–"), ("folds", s["folds"])],
            columns=["", "value"])
        sec.table(facts)
        if truth is not None:
            from ..live.timeline import schedule_accuracy

            acc = schedule_accuracy(table["time_s"], table["label"].tolist(), truth)
            sec.text(f"Generated clip: the label matches the true schedule on {acc:.1%} of the processed frames "
                     "(the true schedule is the lower band).", "note")
    with page.section("Segments", "segments") as sec:
        sec.table(segs.assign(label=[_desc(c) for c in segs["label"]]))
        if w.get("alerts") is not None:
            sec.text(f"Alerts ({s['alert']}):", "")
            sec.table(w["alerts"])
    thumbs = sorted((folder / "segments").glob("seg_*.jpg"))
    with page.section("A frame of each segment", "frames") as sec:
        sec.gallery([(read_image(str(p)), _thumb_caption(p)) for p in thumbs], thumb=200)
    run = _watch_run(s)
    if gradcam and thumbs and run is not None:
        with page.section("Grad-CAM", "gradcam") as sec:
            sec.text("Where the evidence for the segment's class lies, by the run's first fold model.")
            sec.gallery(_segment_gradcam(run, thumbs[:8]), thumb=200)
    return page


def _thumb_caption(p: Path) -> str:
    parts = p.stem.split("_")
    return f"segment {int(parts[1])} · {_desc(parts[2])}" if len(parts) >= 3 else p.stem


def _watch_run(summary: dict) -> Path | None:
    run = Path(summary.get("run", "")) if summary.get("run") else None
    return run if run is not None and runfolder.checkpoints(run) else None


def _segment_gradcam(run: Path, thumbs: list[Path]) -> list:
    from ..files import read_image
    from ..runtime import resize
    from ..runtime import parse_image_size
    from ..pipeline.models import load_net
    from .heatmaps import gradcam, overlay

    k, ckpt = next(iter(runfolder.checkpoints(run).items()))
    net, classes, _ = load_net(ckpt)
    size = parse_image_size(runfolder.Run(run).settings.get("image_size") or 224)
    items = []
    for p in thumbs:
        img = read_image(str(p))
        cls = p.stem.split("_")[2]
        if img is None or cls not in classes:
            continue
        import torch

        x = torch.from_numpy(resize(img, size)).permute(2, 0, 1).float().div(255)[None]
        items.append((overlay(img, gradcam(net, x, [classes.index(cls)])[0]), f"fold {k} · {_desc(cls)}"))
    return items
