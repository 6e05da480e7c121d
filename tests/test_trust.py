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
