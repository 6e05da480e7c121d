import json
import math

import numpy as np
import pandas as pd
import pytest
import torch

import tamgu
from tamgu.cli import main
from tamgu.pipeline.config import load_config
from tamgu.pipeline.data import load_dataset
from tamgu.pipeline.folds import make_folds
from tamgu.pipeline.models import build_model
from tamgu.pipeline.prediction import validate_submission
from tamgu.pipeline.module import Classifier, lr_factor_fn
from tamgu.pipeline.training import epoch_history, train_fold

TINY = ["--model", "test_resnet", "--weights", "none", "--image-size", "32x24", "--batch-size", "16", "--workers", "0"]
CLASSES = [f"c{i}" for i in range(10)]


def test_lr_schedule_warms_up_then_decays_to_zero():
    f = lr_factor_fn("cosine", warmup_steps=10, total_steps=110)
    assert f(0) == pytest.approx(0.1) and f(9) == pytest.approx(1.0)
    assert f(60) == pytest.approx(0.5) and f(110) == pytest.approx(0.0, abs=1e-9)
    keras = lr_factor_fn("constant", 0, 100, keras_decay=1e-6)
    assert keras(10**6) == pytest.approx(0.5)  # lr / (1 + decay * step), as Keras' SGD(decay=...)


@pytest.mark.parametrize("head", ["timm", "book"])
def test_models_by_name_with_either_head(head):
    net, meta = build_model("test_resnet", 10, head=head, image_size=(40, 30))
    out = net(torch.rand(2, 3, 30, 40))
    assert out.shape == (2, 10)
    assert meta["model"] == "test_resnet" and len(meta["mean"]) == 3
    if head == "book":
        widths = [m.out_features for m in net.head.modules() if isinstance(m, torch.nn.Linear)]
        assert widths == [2048, 2048, 10]


def test_a_new_timm_head_starts_at_the_uniform_guess():
    # head_init zero: every image scores log(classes) at step 0, instead of timm's random class scores
    x = torch.rand(4, 3, 30, 40)
    net, _ = build_model("test_resnet", 10, image_size=(40, 30))
    net.eval()
    assert torch.equal(net(x), torch.zeros(4, 10))
    timm_init, _ = build_model("test_resnet", 10, image_size=(40, 30), head_init="timm")
    timm_init.eval()
    assert timm_init(x).abs().max() > 0


def test_the_book_head_keeps_its_default_init():
    # its last layer reads fresh ReLU units, already near zero; zeroing it measured worse (models.build_model)
    x = torch.rand(4, 3, 30, 40)
    outs = []
    for init in ("zero", "timm"):
        torch.manual_seed(0)
        net, _ = build_model("test_resnet", 10, head="book", image_size=(40, 30), head_init=init)
        outs.append(net.eval()(x))
    assert torch.equal(outs[0], outs[1]) and outs[0].abs().max() > 0


def test_a_run_saved_before_head_init_existed_is_told_the_change():
    from tamgu.pipeline.config import TrainConfig, config_differences

    old = {k: v for k, v in TrainConfig().to_dict().items() if k != "head_init"}  # as an older tamgu saved it
    assert config_differences(old, TrainConfig()) == ["head_init: timm -> zero"]
    assert config_differences(old, TrainConfig(head_init="timm")) == []


def test_unknown_model_names_close_ones():
    with pytest.raises(ValueError, match="timm has no model 'resnet5O'"):
        build_model("resnet5O", 10)


class MarkedNet(torch.nn.Module):
    """Scores the class numbered by the epoch its weights come from (a buffer set while training)."""

    def __init__(self, classes: int):
        super().__init__()
        self.backbone = torch.nn.Identity()  # nothing for batch-norm folding to fold
        self.head = torch.nn.Identity()
        self.classes = classes
        self.register_buffer("epoch_marker", torch.tensor(-1))
        self.w = torch.nn.Parameter(torch.zeros(1))

    def forward(self, x):
        marked = torch.nn.functional.one_hot(self.epoch_marker.clamp(min=0).expand(len(x)), self.classes).float()
        return 50 * marked + 0 * self.w


class Scripted(Classifier):
    """Val loss follows a script; the net remembers the epoch its weights come from, and predicts it."""

    script = [1.0, 0.8, 0.6, 0.7, 0.65, 0.9, 0.1, 0.1]

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.net = MarkedNet(len(self.classes))

    def training_step(self, batch, batch_idx):
        self.net.epoch_marker.fill_(self.current_epoch)
        return self(batch[0]).mean() * 0.0

    def validation_step(self, batch, batch_idx):
        self.log("val_loss", torch.tensor(self.script[self.current_epoch]), on_epoch=True)


def test_early_stopping_follows_the_script_and_the_best_checkpoint_is_used(tiny_data, tmp_path, monkeypatch):
    cfg = load_config(model="test_resnet", image_size="32x24", epochs=20, patience=3, workers=0, batch_size=32,
                      folds=3)
    ds = load_dataset(tiny_data)
    folds = make_folds(ds.train, "driver", 3, seed=0)
    monkeypatch.setattr(Classifier, "from_config", classmethod(
        lambda cls, cfg, classes: Scripted(build_model("test_resnet", 10, image_size=(32, 24))[1], classes,
                                           {"optimizer": "adamw", "lr": 1e-3, "weight_decay": 0.0,
                                            "schedule": "constant", "warmup_epochs": 0})))
    res = train_fold(cfg, ds, folds, 0, tmp_path)
    # best at epoch 2 (0.6); epochs 3, 4, 5 do not improve -> stop after epoch 5, before the script's 0.1
    assert res.best_epoch == 2
    assert res.epochs_run == 6
    assert res.best_val_loss == pytest.approx(0.6)
    # every prediction came from the weights of epoch 2, not from the last epoch (the book's bug)
    assert (res.oof[CLASSES].to_numpy().argmax(1) == 2).all()
    assert (res.test_pred[CLASSES].to_numpy().argmax(1) == 2).all()
    history = pd.read_csv(tmp_path / "fold0" / "history.csv")
    assert history["epoch"].tolist() == list(range(6))
    assert history["val_loss"].tolist() == pytest.approx(Scripted.script[:6])


def test_cli_end_to_end_train_predict_score_and_resume(tiny_data, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", str(tiny_data), "--out", str(run), "--folds", "3", "--epochs", "2", *TINY]) == 0
    out = capsys.readouterr().out
    assert "OOF" in out and "submission" in out
    for f in ["config.yaml", "folds.csv", "oof.csv", "test_pred.csv", "submission.csv", "summary.json",
              "fold0/best.ckpt", "fold0/metrics.csv", "fold0/history.csv", "fold2/oof.csv"]:
        assert (run / f).exists(), f
    assert not (run / "fold0" / "last.ckpt").exists()
    validate_submission(run / "submission.csv", tiny_data / "sample_submission.csv")
    sub = pd.read_csv(run / "submission.csv")
    assert list(sub.columns) == ["img"] + CLASSES

    oof = pd.read_csv(run / "oof.csv")
    assert list(oof.columns) == ["img", "fold"] + CLASSES
    assert oof["img"].is_unique and len(oof) == 180
    test_pred = pd.read_csv(run / "test_pred.csv")
    assert sorted(test_pred["fold"].unique()) == [0, 1, 2] and len(test_pred) == 90

    summary = json.loads((run / "summary.json").read_text())
    assert set(summary["per_fold"]) == {"0", "1", "2"}
    assert summary["uniform_log_loss"] == pytest.approx(math.log(10))

    # the checkpoint alone rebuilds the model
    ck = torch.load(run / "fold0" / "best.ckpt", map_location="cpu", weights_only=True)
    meta = ck["hyper_parameters"]["meta"]
    assert meta["model"] == "test_resnet" and meta["image_size"] == [32, 24] and len(meta["std"]) == 3
    assert ck["hyper_parameters"]["classes"] == CLASSES

    # re-predicting gives the same submission
    again = tmp_path / "again.csv"
    assert main(["predict", str(run), "--out", str(again), "--workers", "0"]) == 0
    pd.testing.assert_frame_equal(pd.read_csv(again), sub, atol=1e-6)

    # scoring the OOF file reproduces the summary
    capsys.readouterr()
    assert main(["score", str(run / "oof.csv"), "--truth", str(tiny_data)]) == 0
    scored = json.loads(capsys.readouterr().out)
    assert scored["log_loss"] == pytest.approx(summary["oof"]["log_loss"], abs=1e-9)

    # a rerun resumes: finished folds are not trained again
    stamp = (run / "fold1" / "best.ckpt").stat().st_mtime_ns
    assert main(["train", str(tiny_data), "--out", str(run), "--folds", "3", "--epochs", "2", *TINY]) == 0
    assert (run / "fold1" / "best.ckpt").stat().st_mtime_ns == stamp


def test_one_fold_only_and_python_api(tiny_data, tmp_path):
    summary = tamgu.train(tiny_data, out=tmp_path / "run", model="test_resnet", weights="none", image_size="32x24", folds=3, fold=1,
                          epochs=1, workers=0)
    assert summary["folds_done"] == [1]
    assert not (tmp_path / "run" / "fold0").exists()
    # a partial run still writes a (one-fold) submission for every test image
    assert len(pd.read_csv(tmp_path / "run" / "submission.csv")) == 30


def test_corrupt_images_are_skipped_and_reported(data_copy, tmp_path, caplog):
    bad_train = sorted((data_copy / "imgs" / "train" / "c3").iterdir())[0]
    bad_test = sorted((data_copy / "imgs" / "test").iterdir())[0]
    bad_train.write_bytes(b"garbage")
    bad_test.write_bytes(b"")
    summary = tamgu.train(data_copy, out=tmp_path / "run", model="test_resnet", weights="none", image_size="32x24", folds=2,
                          epochs=1, workers=0)
    assert summary["oof"]["images"] == 180
    sub = pd.read_csv(tmp_path / "run" / "submission.csv").set_index("img")
    assert sub.loc[bad_test.name].to_numpy() == pytest.approx(np.full(10, 0.1))  # uniform, never a missing row
    assert "unreadable image" in caplog.text


def test_random_split_is_over_optimistic(tmp_path):
    """The chapter's lesson: frames of one driver in both train and validation make the score look better
    than it is on new drivers."""
    data = tamgu.synth(tmp_path / "data", drivers=8, per_class=6, test=0, test_drivers=0, image_size="48x36", seed=3)
    # trained at 32x24 (the images are 48x36): the gap is wider than at 48x36 (random/driver 0.20-0.22 over seeds
    # 3 and 4 against 0.68, with 4 folds of 8 epochs); 3 folds of 6 epochs keep 0.52-0.54 and take 14-17 s
    # instead of 22-28 (one thread each, both seeds)
    common = dict(model="test_resnet", weights="none", image_size="32x24", folds=3, epochs=6, lr=3e-3, workers=0,
                  batch_size=32)
    rnd = tamgu.train(data, out=tmp_path / "random", split="random", **common)["oof"]["log_loss"]
    drv = tamgu.train(data, out=tmp_path / "driver", split="driver", **common)["oof"]["log_loss"]
    assert rnd < 0.75 * drv, (rnd, drv)


def test_freeze_epochs_train_only_the_classifier_first(tiny_data, tmp_path):
    import lightning as L

    cfg = load_config(model="test_resnet", image_size="32x24", epochs=2, freeze_epochs=1, workers=0, batch_size=16,
                      weights="none", limit_batches=2)
    ds = load_dataset(tiny_data)
    module = Classifier.from_config(cfg, ds.classes)
    stem, fc = module.net.backbone.conv1[0].weight.detach().clone(), module.net.backbone.fc.weight.detach().clone()
    loader = tamgu.pipeline.loaders.make_loader(ds.train["path"].tolist(), ds.train["y"].tolist(), cfg, True)
    trainer = L.Trainer(max_epochs=1, limit_train_batches=2, logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(module, loader)
    assert torch.equal(module.net.backbone.conv1[0].weight, stem)        # frozen in epoch 0
    assert not torch.equal(module.net.backbone.fc.weight, fc)           # the classifier learned
    trainer = L.Trainer(max_epochs=2, limit_train_batches=2, logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False)
    trainer.fit_loop.epoch_progress.current.completed = 1  # continue at epoch 1, past the frozen epoch
    trainer.fit(module, loader)
    assert not torch.equal(module.net.backbone.conv1[0].weight, stem)    # then everything trains


def test_output_is_quiet_and_plain_when_stdout_is_not_a_terminal(tiny_data, tmp_path, capsys):
    assert main(["train", str(tiny_data), "--out", str(tmp_path / "run"), "--folds", "2", "--epochs", "2", *TINY]) == 0
    cap = capsys.readouterr()
    text = cap.out + cap.err
    assert "GPU available" not in text and "INFO" not in text and "Tip:" not in text  # no Lightning banners
    assert "\r" not in text  # no redrawn progress bars in a log file
    assert "fold0 epoch 1:" in cap.out and "val_loss" in cap.out  # one plain line per epoch instead
    assert "Params" not in text  # no model summary unless -v
    # each line shows that epoch's own figures, as the fold's history records them
    history = epoch_history(tmp_path / "run" / "fold0" / "metrics.csv")
    for row in history.itertuples():
        line = next(x for x in cap.out.splitlines() if x.startswith(f"fold0 epoch {row.epoch}:"))
        assert f"train_loss {row.train_loss:.4f}" in line and f"val_loss {row.val_loss:.4f}" in line


def test_a_run_folder_made_with_other_settings_is_refused_unless_fresh(tiny_data, tmp_path):
    run = tmp_path / "run"
    args = ["train", str(tiny_data), "--out", str(run), "--folds", "2", "--epochs", "1", *TINY]
    assert main(args) == 0
    before = (run / "oof.csv").read_text()
    with pytest.raises(tamgu.ConfigError, match=r"other settings \(epochs: 1 -> 2\).*--fresh"):
        tamgu.train(tiny_data, out=run, folds=2, epochs=2, model="test_resnet", weights="none", image_size="32x24",
                    batch_size=16, workers=0)
    assert (run / "oof.csv").read_text() == before  # nothing lost
    # runtime settings may change on a rerun (workers, accelerator, a single --fold)
    assert main(args[:-2] + ["--workers", "1"]) == 0
    assert main(args[:6] + ["--epochs", "2", *TINY, "--fresh"]) == 0
    assert "epochs: 2" in (run / "config.yaml").read_text()


def test_folds_trained_on_separate_machines_are_collected_and_checked(tiny_data, tmp_path, capsys):
    import shutil

    def fold_on_machine(k: int, machine: str, *extra: str) -> None:  # each machine writes its own run folder
        assert main(["train", str(tiny_data), "--out", str(tmp_path / machine / "run"), "--folds", "2", "--fold", str(k),
                     "--epochs", "1", *TINY, *extra]) == 0

    fold_on_machine(0, "a")
    fold_on_machine(1, "b")
    run = tmp_path / "a" / "run"
    with pytest.raises(ValueError, match=r"folds \[1\] of .* are not finished"):
        tamgu.collect(run)
    shutil.copytree(tmp_path / "b" / "run" / "fold1", run / "fold1")
    summary = tamgu.collect(run)
    assert summary["folds_done"] == [0, 1] and summary["oof"]["images"] == 180
    assert len(pd.read_csv(run / "submission.csv")) == 30 and summary["heldout"]["images"] == 30
    assert main(["collect", str(run)]) == 0 and "OOF" in capsys.readouterr().out

    fold_on_machine(1, "c", "--lr", "0.01")  # another machine, other settings
    shutil.rmtree(run / "fold1")
    shutil.copytree(tmp_path / "c" / "run" / "fold1", run / "fold1")
    with pytest.raises(tamgu.ConfigError, match=r"fold 1 .* trained differently.*lr: 0.01 -> None"):
        tamgu.collect(run)
