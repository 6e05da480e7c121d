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


# `make test` gives each worker whole files (--dist loadfile), the next file to whichever worker is nearly done,
# in the order collected: longest first, so that neither worker is left alone with a long one at the end.
# pytest-xdist 3.8 reorders files by their number of tests unless --no-loadscope-reorder (the Makefile passes it):
# reordered, one worker ran 393 s and the other 362 s, with test_trust.py (53 s) started at 340 s. Seconds per
# file from one clean-clone run (Intel Xeon, 2 workers), longest first; the rest keep their order.
SLOWEST_FIRST = ("test_tutorials.py",  # 200 s
                 "test_watch.py",  # 124
                 "test_cracks.py",  # 73
                 "test_trust.py",  # 53
                 "test_leaderboard.py", "test_denoise.py", "test_training.py", "test_detect.py",  # 35-38
                 "test_live_tools.py", "test_reports.py", "test_objects.py",  # 20-27
                 "test_first_real_run.py", "test_nilm.py",  # 16
                 "test_contracts.py", "test_curation.py", "test_ensemble.py", "test_bad_inputs.py", "test_frames.py")


def pytest_collection_modifyitems(items):
    rank = {name: i for i, name in enumerate(SLOWEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))
