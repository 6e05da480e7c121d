"""Nothing trusted blindly: no network at run time, and the same seed gives the same numbers."""

import socket

import pandas as pd
import pytest

import tamgu


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network access attempted: tamgu must run offline")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


def test_pretrained_training_and_prediction_run_with_sockets_blocked(tiny_data, tmp_path, no_network):
    summary = tamgu.train(tiny_data, out=tmp_path / "run", model="mobilenetv2_100", weights="imagenet",
                          image_size="32x24", folds=2, epochs=1, workers=0)
    assert summary["heldout"]["images"] == 30
    sub = tamgu.predict(tmp_path / "run", out=tmp_path / "again.csv", workers=0)
    tamgu.validate_submission(sub, tiny_data / "sample_submission.csv")


def test_the_same_seed_gives_the_same_folds_and_oof(tiny_data, tmp_path):
    opts = dict(model="test_resnet", weights="none", image_size="32x24", folds=2, epochs=2, workers=0, lr=3e-3)
    tamgu.train(tiny_data, out=tmp_path / "a", **opts)
    tamgu.train(tiny_data, out=tmp_path / "b", **opts)
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "a" / "folds.csv"), pd.read_csv(tmp_path / "b" / "folds.csv"))
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "a" / "oof.csv"), pd.read_csv(tmp_path / "b" / "oof.csv"),
                                  atol=1e-6, rtol=0)


def _train_args(data, out, workers: int) -> list[str]:
    return ["train", str(data), "--out", str(out), "--folds", "2", "--epochs", "3", "--patience", "10",
            "--image-size", "32x24", "--augment", "light", "--workers", str(workers)]


@pytest.fixture(scope="module")
def straight_run(tiny_data, tmp_path_factory):
    """The uninterrupted run both killed runs must end as. It has no loader workers and the killed run with two
    has to match it to 1e-6, so that test also shows that the number of workers does not change the numbers."""
    from tamgu.cli import main

    out = tmp_path_factory.mktemp("straight") / "run"
    assert main(_train_args(tiny_data, out, 0)) == 0
    return out


@pytest.mark.parametrize("workers", [0, 2])
def test_a_fold_killed_mid_training_and_rerun_ends_as_an_uninterrupted_run(tiny_data, straight_run, tmp_path, workers):
    """kill -9 inside a fold (after an epoch's last.ckpt), rerun the same command: the same OOF, to 1e-6.

    Pretrained weights, dropout and augmentation: everything random is drawn from (seed, epoch), whichever
    way the process got there and however many loader workers there are. The rerun runs in this (already
    used) interpreter: no state left over from earlier work may change its numbers either."""
    import signal
    import subprocess
    import sys
    import time

    from tamgu.cli import main

    resumed = tmp_path / "resumed"
    proc = subprocess.Popen([sys.executable, "-m", "tamgu.cli", *_train_args(tiny_data, resumed, workers)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while not (resumed / "fold1" / "last.ckpt").exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert (resumed / "fold1" / "last.ckpt").exists() and not (resumed / "fold1" / "oof.csv").exists(), \
        "the kill must land inside fold 1"
    assert main(_train_args(tiny_data, resumed, workers)) == 0
    pd.testing.assert_frame_equal(pd.read_csv(straight_run / "oof.csv"), pd.read_csv(resumed / "oof.csv"),
                                  atol=1e-6, rtol=0)
    history = pd.read_csv(resumed / "fold1" / "history.csv")
    assert history["epoch"].tolist() == [0, 1, 2], "the epochs before the interruption stay in the history"
