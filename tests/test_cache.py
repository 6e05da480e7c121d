"""Decode once: the cache gives the decoded image back, notices changed files and ignores damaged entries."""

import os
import zipfile

import cv2
import numpy as np
import pytest

from tamgu.files import ZIP_SEP
from tamgu.pipeline.cache import ImageCache, decode_resized


@pytest.fixture
def photos(tmp_path):
    rng = np.random.default_rng(0)
    paths = []
    for i in range(4):
        img = rng.integers(0, 255, size=(480, 640, 3), dtype=np.uint8)
        p = tmp_path / f"img_{i}.jpg"
        cv2.imwrite(str(p), cv2.GaussianBlur(img, (9, 9), 3))
        paths.append(str(p))
    return paths


def test_second_pass_reads_the_cache_and_gives_the_same_pixels(photos, tmp_path):
    cache = ImageCache((96, 72), root=tmp_path / "c")
    first, ok = cache.load_all(photos)
    assert ok.all() and first.shape == (4, 72, 96, 3) and cache.misses == 4
    again = ImageCache((96, 72), root=tmp_path / "c")
    second, _ = again.load_all(photos)
    assert again.hits == 4 and again.misses == 0
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(first[0], decode_resized(photos[0], (96, 72)))
    other = ImageCache((64, 48), root=tmp_path / "c")  # another size is another entry
    assert other.get(photos[0]).shape == (48, 64, 3) and other.misses == 1


def test_a_changed_file_is_decoded_again(photos, tmp_path):
    cache = ImageCache((96, 72), root=tmp_path / "c")
    before = cache.get(photos[0])
    cv2.imwrite(photos[0], np.full((480, 640, 3), 200, np.uint8))
    os.utime(photos[0], ns=(1, 1))  # even with an old timestamp the size changed
    after = ImageCache((96, 72), root=tmp_path / "c").get(photos[0])
    assert not np.array_equal(before, after) and abs(int(after.mean()) - 200) <= 2


def test_damaged_entries_are_ignored_and_unreadable_images_never_cached(photos, tmp_path):
    cache = ImageCache((96, 72), root=tmp_path / "c")
    good = cache.get(photos[1])
    entry = cache._entry(photos[1])
    entry.write_bytes(b"junk")
    np.testing.assert_array_equal(ImageCache((96, 72), root=tmp_path / "c").get(photos[1]), good)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8 not really a jpeg")
    assert cache.get(str(broken)) is None
    assert not cache._entry(str(broken)).exists()
    assert cache.get(str(tmp_path / "missing.jpg")) is None


def test_zip_members_and_cache_off(photos, tmp_path, monkeypatch):
    archive = tmp_path / "set.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(photos[2], "imgs/a.jpg")
    ref = f"{archive}{ZIP_SEP}imgs/a.jpg"
    cache = ImageCache((96, 72), root=tmp_path / "c")
    np.testing.assert_array_equal(cache.get(ref), ImageCache((96, 72), root=tmp_path / "c").get(photos[2]))
    monkeypatch.setenv("TAMGU_CACHE", "off")
    off = ImageCache((96, 72))
    assert off.root is None and off.get(photos[2]).shape == (72, 96, 3)
