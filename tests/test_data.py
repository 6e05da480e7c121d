import shutil
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from tamgu.cli import main
from tamgu.pipeline.data import DataError, check, load_dataset


def _first(data: Path, cls: str = "c0") -> Path:
    return sorted((data / "imgs" / "train" / cls).iterdir())[0]


def _csv(data: Path) -> pd.DataFrame:
    return pd.read_csv(data / "driver_imgs_list.csv")


# each bad input: how to break the dataset, and words the error must contain
def missing_csv(d): (d / "driver_imgs_list.csv").unlink()
def wrong_header(d): _csv(d).rename(columns={"subject": "driver"}).to_csv(d / "driver_imgs_list.csv", index=False)
def missing_test(d): shutil.rmtree(d / "imgs" / "test"); (d / "sample_submission.csv").unlink()
def bad_class_folder(d): (d / "imgs" / "train" / "c10").mkdir(); shutil.copy(_first(d), d / "imgs" / "train" / "c10" / "x.jpg")
def listed_missing(d): _first(d).unlink()
def not_listed(d): shutil.copy(_first(d), d / "imgs" / "train" / "c0" / "img_extra.jpg")
def corrupt(d): _first(d).write_bytes(b"\xff\xd8\xff\xe0 this is not a jpeg")
def zero_byte(d): _first(d).write_bytes(b"")
def duplicate_name(d): shutil.copy(_first(d, "c0"), d / "imgs" / "train" / "c1" / _first(d, "c0").name)
def empty_class(d):
    df = _csv(d)
    df[df["classname"] != "c5"].to_csv(d / "driver_imgs_list.csv", index=False)
    shutil.rmtree(d / "imgs" / "train" / "c5"); (d / "imgs" / "train" / "c5").mkdir()
def wrong_folder(d):
    f = _first(d, "c0"); shutil.move(f, d / "imgs" / "train" / "c1" / f.name)


BAD = [
    (missing_csv, r"driver_imgs_list.csv: is missing. Fix: put"),
    (wrong_header, r"header is 'driver,classname,img'.*subject,classname,img"),
    (missing_test, r"imgs/test: folder is missing"),
    (bad_class_folder, r"imgs/train/c10: class folder 'c10' is not one of c0..c9"),
    (listed_missing, r"listed in driver_imgs_list.csv but missing"),
    (not_listed, r"img_extra.jpg: present but not listed"),
    (corrupt, r"not a readable image \(corrupt or truncated\)"),
    (zero_byte, r"empty \(zero-byte\) file"),
    (duplicate_name, r"the image name appears 2 times"),
    (empty_class, r"imgs/train/c5: class has no images"),
    (wrong_folder, r"driver_imgs_list.csv says class c0"),
]


def test_good_dataset_passes(tiny_data):
    s = check(tiny_data)
    assert s["classes"] == [f"c{i}" for i in range(10)]
    assert s["train_images"] == 6 * 10 * 3 and s["test_images"] == 30 and s["groups"] == 6


@pytest.mark.parametrize("breaker,message", BAD, ids=[b.__name__ for b, _ in BAD])
def test_each_bad_input_gives_its_clear_error(data_copy, breaker, message):
    breaker(data_copy)
    with pytest.raises(DataError, match=message) as err:
        check(data_copy)
    assert "Fix:" in str(err.value)


@pytest.mark.parametrize("breaker,message", BAD[:4], ids=[b.__name__ for b, _ in BAD[:4]])
def test_cli_check_exits_1_with_the_message(data_copy, capsys, breaker, message):
    breaker(data_copy)
    assert main(["check", str(data_copy)]) == 2
    assert "error" in capsys.readouterr().err


def test_cli_check_prints_summary(tiny_data, capsys):
    assert main(["check", str(tiny_data)]) == 0
    out = capsys.readouterr().out
    assert "train images: 180 in 6 groups; test images: 30" in out


def test_missing_path_is_clear(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        check(tmp_path / "nope")


def test_kaggle_zip_is_read_in_place(tiny_data, tmp_path):
    archive = tmp_path / "state-farm-distracted-driver-detection.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for f in sorted(tiny_data.rglob("*")):
            if f.is_file():
                zf.write(f, f.relative_to(tiny_data).as_posix())
    s = check(archive)
    assert s["train_images"] == 180 and s["test_images"] == 30
    ds = load_dataset(archive)
    assert ds.train["path"].str.contains(".zip::imgs/train/").all()
    assert not (tmp_path / "imgs").exists()  # nothing extracted


def _folders_from(tiny_data: Path, root: Path, with_groups: bool = True) -> Path:
    meta = pd.read_csv(tiny_data / "driver_imgs_list.csv")
    names = {f"c{i}": n for i, n in enumerate(["safe", "text_r", "phone_r", "text_l", "phone_l", "radio", "drink",
                                                "reach", "hair", "talk"])}
    for _, r in meta.iterrows():
        dst = root / "train" / names[r["classname"]] / r["img"]
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(tiny_data / "imgs" / "train" / r["classname"] / r["img"], dst)
    shutil.copytree(tiny_data / "imgs" / "test", root / "test")
    if with_groups:
        meta.rename(columns={"subject": "group"})[["img", "group"]].to_csv(root / "groups.csv", index=False)
    return root


def test_class_per_folder_with_groups_csv(tiny_data, tmp_path):
    root = _folders_from(tiny_data, tmp_path / "folders")
    ds = load_dataset(root)
    assert ds.kind == "folders" and len(ds.classes) == 10 and "drink" in ds.classes
    assert ds.train["group"].nunique() == 6 and len(ds.test) == 30


def test_class_per_folder_declared_classes_mismatch(tiny_data, tmp_path):
    root = _folders_from(tiny_data, tmp_path / "folders")
    with pytest.raises(DataError, match="folder 'talk' is not one of the declared classes"):
        check(root, classes=["safe", "text_r", "phone_r", "text_l", "phone_l", "radio", "drink", "reach", "hair"])


def test_groups_csv_missing_rows(tiny_data, tmp_path):
    root = _folders_from(tiny_data, tmp_path / "folders")
    g = pd.read_csv(root / "groups.csv")
    g.iloc[5:].to_csv(root / "groups.csv", index=False)
    with pytest.raises(DataError, match="has no row in groups.csv"):
        check(root)


def test_eda_report(tiny_data, tmp_path, capsys):
    assert main(["eda", str(tiny_data), "--out", str(tmp_path)]) == 0
    assert "180 training and 30 test images, 10 classes, 6 groups" in capsys.readouterr().out
    report = (tmp_path / "eda.md").read_text()
    assert "| p002 " in report and "40x30" in report
    for fig in ["per_class.png", "per_group.png", "group_by_class.png", "samples.png"]:
        assert (tmp_path / fig).stat().st_size > 1000
