"""How each command's result prints for a person: one function per command, given the result and the call's
options (`commands.COMMANDS` names them). Quiet by default: a summary at the end, problems on stderr."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .errors import InputsFailed


def print_summary(summary: dict, _: dict | None = None) -> None:
    if not summary:  # a DDP rank other than 0: rank 0 reports
        return
    print(f"\n{'fold':>6} {'log loss':>9} {'accuracy':>9} {'images':>7}")
    for k, v in sorted(summary["per_fold"].items(), key=lambda kv: int(kv[0])):
        print(f"{k:>6} {v['log_loss']:9.4f} {v['accuracy']:9.3f} {v['images']:7d}")
    o = summary["oof"]
    print(f"{'OOF':>6} {o['log_loss']:9.4f} {o['accuracy']:9.3f} {o['images']:7d}   (uniform guess: "
          f"{summary['uniform_log_loss']:.4f})")
    if "heldout" in summary:
        h = summary["heldout"]
        print(f"\n{'':6} {'log loss':>9} {'accuracy':>9} {'images':>7}")
        print(f"{'CV':>6} {o['log_loss']:9.4f} {o['accuracy']:9.3f} {o['images']:7d}   driver-CV estimate (OOF)")
        print(f"{'test':>6} {h['log_loss']:9.4f} {h['accuracy']:9.3f} {h['images']:7d}   held-out test drivers "
              f"(private leaderboard), gap {h['log_loss'] - o['log_loss']:+.4f}")
    print(f"\nrun folder: {summary['run']}")
    if "submission" in summary:
        print(f"submission: {summary['submission']}")


def synth(out, o):
    print(f"wrote a generated State Farm dataset to {out}")


def check(s, o):
    print(f"OK: {s['root']} ({s['layout']} layout)")
    print(f"  classes: {len(s['classes'])} ({', '.join(s['classes'])})")
    print(f"  train images: {s['train_images']} in {s['groups']} groups; test images: {s['test_images']}")
    print("  per class: " + ", ".join(f"{c} {n}" for c, n in s["per_class"].items()))
    if s["per_group"]:
        counts = list(s["per_group"].values())
        print(f"  per group: {min(counts)} to {max(counts)} images")
    print("".join(f"  warning: {w}\n" for w in s.get("warnings", [])), end="")


def eda(s, o):
    if not isinstance(s, dict):  # --out page.html
        print(f"EDA page -> {s.path} (open it in a browser)")
        return
    print(f"{s['train_images']} training and {s['test_images']} test images, {len(s['classes'])} classes, "
          f"{len(s['per_group'])} groups -> {s['report']}")


def augment(fig, o):
    print(f"originals and {o['augment']} augmentations -> {o['out']}")


def env(table, o):
    print(table.to_string(index=False))


def samples(table, o):
    print(table.groupby(["kind", "source"]).size().rename("files").reset_index().to_string(index=False))
    for m in table.attrs.get("missing", []):
        print(f"not installed, so not included: {m}")
    print(f"-> {o['out']} (list: {Path(o['out']) / 'samples.csv'})")


def report(page, o):
    print(f"report -> {page.path} (open it in a browser)")


def predict(sub, o):
    target = Path(o.get("out") or Path(o["run"]) / "submission.csv")
    print(f"predicted {len(sub)} images -> {target}")
    if "uncertain" in sub.attrs:
        far = f", {sub.attrs['far']} unlike the training images" if sub.attrs.get("familiar_distance") is not None else ""
        print(f"{sub.attrs['uncertain']} uncertain ({sub.attrs['low']} under the floor{far}) -> "
              f"{target.with_name('uncertain.csv')}")


def score(s, o):
    print(json.dumps(s, indent=2))


def demo(summary, o):
    print_summary(summary)
    print(f"submission validated against {summary['sample_submission']}")


def reproduce(table, o):
    from .recipes.chapter5 import results_markdown

    print("\n" + results_markdown(table))
    print(f"table: {Path(o['out']) / 'results.md'} and results.csv")


def ensemble(s, o):
    import pandas as pd

    print(pd.DataFrame(s["table"]).to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    if s.get("weights") is not None:
        print(f"\nweights: {s['weights']}")
    if "temperature" in s:
        print(f"temperature: {s['temperature']:.3f}")
    print(f"\nensemble folder: {o['out']}")


def smooth(s, o):
    b = s["before"]
    print(f"k {s['k']}, alpha {s['alpha']} (chosen on OOF; grid in {Path(o['out']) / 'grid.csv'})")
    print(f"{'':8} {'before':>9} {'after':>9}")
    print(f"{'OOF':8} {b['oof_log_loss']:9.4f} {s['oof']['log_loss']:9.4f}")
    if "heldout" in s:
        print(f"{'held-out':8} {b['heldout_log_loss']:9.4f} {s['heldout']['log_loss']:9.4f}")
    print(f"\nsmoothed run folder: {o['out']}")


def audit(s, o):
    print(f"{s['label_issues']} label issues of {s['images']} images (about {100 * s['estimated_noise']:.1f}% of "
          f"labels look wrong), {s['leaks']} near-duplicates across groups, {s['conflicts']} across labels, "
          f"{s['outliers']} outliers -> {s['out']}")
    print(f"  page: {s['page']}")
    if s.get("warning"):
        print(f"  warning: {s['warning']}", file=sys.stderr)
    print(f"  to fix: write drop or relabel in {Path(s['out']) / 'fixes.csv'}'s action column, then "
          f"tamgu train DATA --fixes {Path(s['out']) / 'fixes.csv'} --out NEW_RUN")


def label(s, o):
    print(f"{s['segments']} segments of {s['videos']} video(s) in {s['out']} (classes {', '.join(s['classes'])}); "
          f"next: tamgu frames VIDEOS --segments {s['out']} --out DATA")


def suggest(table, o):
    a = table.attrs
    print(f"{len(table)} frames to label next, of {a['candidates']} candidates -> {a['out']}")
    if len(table):
        print(f"  uncertainty {table['uncertainty'].iloc[0]:.2f} to {table['uncertainty'].iloc[-1]:.2f}; the model "
              f"says {', '.join(f'{k} {v}' for k, v in table['label'].value_counts().head(5).items())}")


def pseudo(s, o):
    print("test images above each confidence threshold:")
    for r in s["thresholds"]:
        print(f"  > {r['threshold']:.1f}: {r['images']:6d} ({r['share']:.0%})")
    print(f"\n{s['pseudo_images']} pseudo-labelled images (cap {s['cap']}, threshold {s['threshold']}) added for "
          f"training only -> {s['data']}")
    print("  per class: " + ", ".join(f"{c} {n}" for c, n in s["per_class"].items()))


def frames(table, o):
    n = table["video"].nunique() if len(table) else 0
    print(f"{len(table)} frames from {n} videos -> {o['out']} (table: {Path(o['out']) / 'frames.csv'})")
    per = table[table["label"] != ""].groupby("label")["group"].agg(["size", "nunique"]) if len(table) else ()
    if len(per):
        print("  per class: " + ", ".join(f"{c} {r['size']} ({r['nunique']} videos)" for c, r in per.iterrows()))
    dropped = table.attrs.get("near_duplicates", 0)
    if dropped:
        why = (f"perceptual hashes within {table.attrs['dedupe']} of 64 bits" if table.attrs.get("dedupe") else
               "no scene change")
        print(f"  {dropped} sampled frame(s) left out as near-duplicates of the frame before ({why}); a smaller "
              "--dedupe keeps more")


def denoise(table, o):
    from .video.stream import end_lines, speed_line

    if "frames_used" in table.columns:  # bursts and RAW files: one night shot each
        for r in table.itertuples():
            if not r.error and r.kind == "raw":
                print(f"{Path(r.file).name}: denoised by the RAW model, developed once -> {r.output} ({r.seconds:g} s)")
            elif not r.error:
                print(f"{Path(r.file).name}: {r.aligned} of {r.frames} frame(s) aligned, {r.frames_used:g} averaged "
                      f"per pixel, merged in {r.space} -> {r.output} ({r.seconds:g} s)")
        bad = table[table["error"] != ""]
        for r in bad.itertuples():
            print(f"  skipped {r.file}: {r.error}", file=sys.stderr)
        if len(bad):
            raise InputsFailed(f"{len(bad)} burst(s) could not be merged (listed above)")
        return

    bad = table[table["error"] != ""] if len(table) else table
    print(f"denoised {len(table) - len(bad)} of {len(table)} input(s) with {o['method']} -> {o['out']}")
    if table.attrs.get("summaries"):
        print(speed_line(table.attrs["summaries"]))
        for line in end_lines(table.attrs["summaries"]):
            print(line)
    for r in table.itertuples():
        if str(r.audio).startswith("dropped"):
            print(f"  {Path(r.file).name}: sound {r.audio}", file=sys.stderr)
    for r in bad.itertuples():
        print(f"  skipped {r.file}: {r.error}", file=sys.stderr)
    if len(bad):
        raise InputsFailed(f"{len(bad)} file(s) could not be denoised (listed above)")


def denoise_train(res, o):
    print(f"saved {res['model']} (best val loss {res['best_val_loss']:.5f} after {res['epochs']} epochs)")


def simulate(table, o):
    print(f"{len(table)} burst(s) of {table['frames'].iloc[0]} RAW frames at {table['light'].iloc[0]} of the light "
          f"-> {o['out']} (truth.png beside each; merge one with: tamgu denoise DIR --method burst --out night/)")


def denoise_eval_raw(table, o):
    summary = table.groupby(["light", "method"], sort=False)[["psnr", "ssim"]].mean().unstack(0)
    print(f"{table['image'].nunique()} photo(s) no model trained on, PSNR/SSIM in sRGB against the clean capture\n")
    print(summary.to_string(float_format=lambda v: f"{v:.2f}"))
    if o.get("out"):
        print(f"\ntable (eval.csv) and side-by-side pictures in {o['out']}")


def denoise_eval(table, o):
    summary = table.groupby("method", sort=False)[["psnr", "ssim", "sec_per_mp"]].mean()
    print(f"noise {table['noise'].iloc[0]}, {table['image'].nunique()} images\n")
    print(summary.to_string(float_format=lambda v: f"{v:.3f}"))
    if o.get("out"):
        print(f"\ntable and side-by-side picture in {o['out']}")


def detections(table, o):
    from .video.stream import end_lines, speed_line

    out = o.get("out")
    files = table.attrs.get("files")
    with_any = table["img"].nunique() if len(table) else 0
    seen = f" in {files} input(s), {with_any} with any" if files is not None else f" in {with_any} files"
    print(f"{len(table)} detections{seen}" + (f" -> {Path(out) / 'detections.csv'}" if out else ""))
    if table.attrs.get("summaries"):
        print(speed_line(table.attrs["summaries"]) + (" (stopped by Ctrl-C; outputs written)"
                                                       if table.attrs.get("interrupted") else ""))
        for line in end_lines(table.attrs["summaries"]):
            print(line)
        for s in table.attrs["summaries"]:
            if s.get("tracks"):
                print(f"  {Path(s['input']).name}: " + ", ".join(f"{n} {label}" for label, n in
                                                                  sorted(s["tracks"].items())) + " (confirmed tracks)")
            for line, per in s.get("crossings", {}).items():
                print(f"    {line}: " + "; ".join(f"{label} " + ", ".join(f"{d} {n}" for d, n in sorted(ways.items()))
                                                  for label, ways in sorted(per.items())))
            for zone, per in s.get("zone_visits", {}).items():
                print(f"    {zone}: " + ", ".join(f"{n} {label}" for label, n in sorted(per.items())) + " visits")
        if out and (Path(out) / "crossings.csv").is_file():
            print(f"crossings: {Path(out) / 'crossings.csv'}")
        if out and (Path(out) / "zones.csv").is_file():
            print(f"zone visits: {Path(out) / 'zones.csv'}")
        for fmt in ("coco", "yolo", "cvat"):
            if o.get("export") == fmt and out:
                print(f"pre-labels ({fmt}): {Path(out) / fmt} (import into CVAT or Label Studio; read back with "
                      f"tamgu crops or tamgu detect eval)")
    if len(table) and not out:
        print(table.to_string(index=False))
    if table.attrs.get("hint"):
        print(f"note: {table.attrs['hint']}")
    errors = table.attrs.get("errors", [])
    for e in errors:
        print(f"  skipped {e}", file=sys.stderr)
    if errors:
        raise InputsFailed(f"{len(errors)} input(s) could not be read (listed above)")


def export(meta, o):
    w, h = meta["image_size"]
    print(f"exported {len(meta['folds'])} fold(s) of {meta['model']} ({len(meta['classes'])} classes, {w}x{h}, "
          f"TTA {meta['tta']}) -> {meta['path']} ({meta['bytes'] / 1e6:.1f} MB)")
    print(f"run it with onnxruntime alone: input 'images' uint8 RGB (batch, {h}, {w}, 3), output 'probs'")


def watch(results, o):
    from .live.watch import run_watch

    s = run_watch(results)
    if "per_video" in s:
        for v in s["per_video"]:
            _watch_lines(v)
        print(f"\n{s['videos']} videos -> {s['out']}")
        for e in s["errors"]:
            print(f"  skipped {e}", file=sys.stderr)
        if s["errors"]:
            raise InputsFailed(f"{len(s['errors'])} video(s) could not be watched (listed above)")
        return
    _watch_lines(s)
    if s["error"]:
        raise InputsFailed(f"{s['source']} could not be watched to its end (said above)")


def _watch_lines(s: dict) -> None:
    lat = s["latency_ms"] or {"mean": float("nan"), "p95": float("nan")}
    print(f"{s['source']}: {s['frames_read']} frames read, {s['frames_processed']} processed, "
          f"{s['frames_dropped']} dropped; {s['achieved_fps']} fps ({s['realtime_factor']}x real time), "
          f"latency {lat['mean']:.1f} ms (p95 {lat['p95']:.1f}), engine {s['engine']}")
    print(f"  {s['segments']} segments" + (f", {s['alerts']} alerts ({s['alert']})" if s["alert"] else "")
          + f" -> {s['out']}" + (" (interrupted: outputs written)" if s["interrupted"] else "")
          + (f"\n  the source ended: {s['error'] or s.get('stream_end')}"
             if s["error"] or s.get("stream_end") else ""))


def fetch(path, o):
    print(f"{o['model']}: checked and saved -> {path}")


def synth_clip(path, o):
    print(f"wrote a generated dashboard clip to {path} (truth: {path}.schedule.csv)")


def background(table, o):
    print(f"{o.get('method', 'auto')} masks, cut-outs and videos in {o['out']}; foreground blobs:", end=" ")
    detections(table, o)


def synth_cracks(out, o):
    print(f"wrote {o.get('n', 200)} generated concrete surfaces with true crack masks to {out} (images/, masks/, "
          "surfaces.csv)")


def cracks(table, o):
    from .video.stream import end_lines, speed_line

    images = table.attrs["images"]
    with_any = int((images["cracks"] > 0).sum()) if len(images) else 0
    unit = "mm" if o.get("mm_per_px") else "px"
    print(f"{len(table)} cracks in {len(images)} image(s), {with_any} with any ({table.attrs['method']}) -> "
          f"{Path(o['out']) / 'cracks.csv'} and images.csv")
    if len(table):
        top = images.sort_values(f"total_length_{unit}", ascending=False).head(5)
        for r in top.itertuples():
            if r.cracks:
                print(f"  {r.mask.replace('_mask.png', '')}: {r.cracks} crack(s), {getattr(r, 'total_length_' + unit):.1f} "
                      f"{unit} in all, widest {getattr(r, 'widest_' + unit):.2f} {unit}")
    skipped = table.attrs.get("skipped", {})
    if table.attrs.get("summaries") and any(s["kind"] != "photo" for s in table.attrs["summaries"]):
        print(speed_line(table.attrs["summaries"]) + (f"; {skipped['every']} frame(s) skipped by --every, "
                                                       f"{skipped['dedupe']} as near-duplicates"
                                                       if sum(skipped.values()) else ""))
        for line in end_lines(table.attrs["summaries"]):
            print(line)
    for e in table.attrs.get("errors", []):
        print(f"  skipped {e}", file=sys.stderr)
    if table.attrs.get("errors"):
        raise InputsFailed(f"{len(table.attrs['errors'])} input(s) could not be read (listed above)")


def cracks_train(res, o):
    print(f"saved {res['model']}: {res['encoder']} U-Net, best val loss {res['best_val_loss']:.4f} after "
          f"{res['epochs_run']} epochs, threshold {res['threshold']} (skeleton F1 on {res['val_images']} held-out "
          f"images: {res['threshold_f1'][str(res['threshold'])]:.3f}), {res['seconds'] / 60:.1f} min")
    print(f"  trained on {res['trained_on']}")


def synth_crossing(paths, o):
    print(f"wrote {paths['video']} with its true crossings ({paths['truth']}) and tracks ({paths['tracks']})\n"
          f"count them: tamgu detect objects {paths['video']} --line {paths['line']} --out runs/street")


def crops(table, o):
    per = ", ".join(f"{n} {c}" for c, n in table.attrs["classes"].items())
    print(f"{len(table)} crops ({per}) in {table.attrs['groups']} groups -> {o['out']}\n"
          f"next: tamgu train {o['out']} --split group  (one object's crops stay in one fold)")


def detect_eval(result, o):
    print(f"{result['images']} images, {result['boxes']} boxes drawn, {result['detections']} detections of their "
          f"classes\nmAP@0.5 {result['map50']:.3f}   mAP@0.5:0.95 {result['map']:.3f}")
    for c, r in result["per_class"].items():
        print(f"  {c:<16} AP@0.5 {r['ap50']:.3f}  AP {r['ap']:.3f}  ({r['boxes']} boxes)")
    for video, r in result.get("tracking", {}).items():
        print(f"{video}: MOTA {r['mota']:.3f}  IDF1 {r['idf1']:.3f}  HOTA {r['hota']:.3f}  id switches "
              f"{r['id_switches']}  ({r['objects']} objects, {r['tracks']} tracks)")
    if result["not_in_annotations"]:
        print(f"note: {result['not_in_annotations']} detections are on images the annotations do not cover")


def cracks_eval(table, o):
    print(table.attrs["summary"].to_string(index=False))
    if o.get("out"):
        print(f"\nper image: {Path(o['out']) / 'eval.csv'}")


def nilm_synth(out, o):
    print(f"wrote generated households to {out} (train/ to learn from, test/ held out)")


def nilm(summary, o):
    metrics = summary.get("metrics", {})
    for split, per_appliance in metrics.items():
        models = summary["models"]
        print(f"\n{split}: MAE in watts (signal aggregate error, on/off F1)")
        print(f"{'appliance':<16}" + "".join(f"{m:>24}" for m in models))
        for a, per_model in per_appliance.items():
            cells = "".join(f"{per_model[m]['mae']:>9.1f} ({per_model[m]['sae']:5.2f}, {per_model[m]['f1']:4.2f})"
                            for m in models)
            print(f"{a:<16}{cells}")
    where = summary.get("run") if "out" not in summary else summary["out"]
    print(f"\nfolder: {where}  (a page: tamgu report {where})")
