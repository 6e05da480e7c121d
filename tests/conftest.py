import logging
import os
import shutil
import warnings

if os.environ.get("PYTEST_XDIST_WORKER"):
    # `make test` runs two workers on the two cores: one math thread each, in the processes they start too (set
    # before torch is first imported). Two processes of two OpenMP threads each on two cores spin against each
    # other: the random-split test took 198 s so, 46 s with one thread each (28 s alone with two).
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("MKL_NUM_THREADS", "1")

import pytest

from tamgu.pipeline.synthetic import synth


@pytest.fixture(scope="session", autouse=True)
def _quiet():
    # Lightning is chatty about GPUs and worker counts; the tests assert behaviour, not logs.
    for name in ("lightning", "lightning.pytorch", "lightning.fabric"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", ".*does not have many workers.*")
    warnings.filterwarnings("ignore", ".*LitLogger.*")


@pytest.fixture(scope="session", autouse=True)
def _private_image_cache(tmp_path_factory):
    # the decode-once cache of the tests lives with the tests, never in the user's ~/.cache
    os.environ["TAMGU_CACHE"] = str(tmp_path_factory.mktemp("image-cache"))


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory):
    """A tiny generated Kaggle-layout dataset: 6 drivers x 10 classes x 3 images, 40x30 px, 30 test images."""
    return synth(tmp_path_factory.mktemp("tiny") / "data", drivers=6, per_class=3, test=30, test_drivers=2,
                 image_size="40x30", seed=1)


@pytest.fixture(scope="session")
def tiny_run(tiny_data, tmp_path_factory):
    """A 2-fold, 2-epoch run of a tiny network on the tiny dataset (near chance: for pages and files, not scores).
    Shared: tests write their outputs elsewhere (the report's default page aside)."""
    import tamgu

    run = tmp_path_factory.mktemp("tiny-run") / "run"
    tamgu.train(tiny_data, out=run, folds=2, epochs=2, model="test_resnet", weights="none", image_size="32x24",
                workers=0, lr=3e-3)
    return run


@pytest.fixture
def data_copy(tiny_data, tmp_path):
    """A private copy of the tiny dataset that a test may break."""
    return shutil.copytree(tiny_data, tmp_path / "data")


# `make test` gives each worker whole files (--dist loadfile), in the order collected. The files that take longest
# go first, so that neither worker is left alone with a long one at the end (in file-name order one worker ran
# 335 s of tests and the other 278 s; longest first, 306 s and 308 s). Measured with --durations=0; the rest keep
# their order.
SLOWEST_FIRST = ("test_tutorials.py", "test_watch.py", "test_training.py", "test_cracks.py", "test_trust.py",
                 "test_leaderboard.py", "test_denoise.py", "test_live_tools.py")


def pytest_collection_modifyitems(items):
    rank = {name: i for i, name in enumerate(SLOWEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))
