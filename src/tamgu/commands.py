"""The command table: each `tamgu` command, the library function it calls, and how its result prints
(`printers`).

Options are generated from each function's signature and docstring (`argspec`); only the chosen command's
module is imported, so `tamgu check` does not load torch.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import printers as show
from .argspec import Shape

# Help for parameters many commands share (a function's own docstring wins)
COMMON = {
    "groups": "CSV with img,group for a class-per-folder dataset",
    "seed": "random seed: the same seed gives the same result",
    "progress": "progress bars on a terminal or in a notebook",
    "frame_step": "videos: every Nth frame",
    "accelerator": "cpu, gpu, mps or auto",
    "workers": "data-loading processes",
    "out": "output folder",
    "inputs": "photos, folders, videos, a camera (0, /dev/video0) or a stream URL (rtsp://, http://)",
}


@dataclass(frozen=True)
class Command:
    name: str                       # as typed: "check", "detect faces"
    target: str                     # "module:function" below tamgu
    show: Callable[[Any, dict], None] | None = None  # prints the result for a person; gets the call's options
    shape: Shape = field(default_factory=Shape)
    help: str = ""                  # one line for `tamgu --help` (default: the function's first line)

    def function(self) -> Callable:
        module, name = self.target.split(":")
        return getattr(importlib.import_module(f"tamgu.{module}"), name)



# ---------------------------------------------------------------------------------------------- table
def _train_shape() -> Shape:
    from .pipeline.config import TrainConfig

    return Shape(positional=("data",), config=TrainConfig)


def _reproduce_shape() -> Shape:
    from .pipeline.config import TrainConfig

    return Shape(config=TrainConfig, config_fields=("epochs", "accelerator", "devices", "workers"),
                 config_group="options for every step")


def _frames_shape() -> Shape:
    from .video.frames import DEDUPE_DISTANCE, SCENE_CUT

    return Shape(rename={"fmt": "format"}, const={"dedupe": DEDUPE_DISTANCE, "scene": SCENE_CUT},
                 exclusive=(("every", "fps", "count"), ("label", "labels", "segments")))


def _frame_shape(kind: str, **shape) -> Callable[[], Shape]:
    """A frame tool's options: its own, then the frame options of its kind (`video.stream.FrameOptions`)."""
    def make() -> Shape:
        from .video.stream import TOOL_OPTIONS, FrameOptions

        return Shape(config=FrameOptions, config_fields=TOOL_OPTIONS[kind],
                     config_group="frame options (photos, videos, cameras, streams)", **shape)
    return make


COMMANDS = [
    Command("synth", "pipeline.synthetic:synth", show.synth, Shape(positional=("out",)),
            help="write a generated dataset in the Kaggle State Farm layout"),
    Command("check", "pipeline.data:check", show.check,
            help="validate a dataset and print its summary"),
    Command("eda", "reports.eda:eda", show.eda,
            help="exploratory analysis: counts, driver x class table, samples (a folder, or one page: --out eda.html)"),
    Command("augment-preview", "reports.figures:augment_preview", show.augment,
            help="a grid of training images and their augmented versions"),
    Command("train", "pipeline.training:train", show.print_summary, _train_shape,
            help="cross-validate a model, predict the test set, write a submission"),
    Command("env", "machine:environment", show.env,
            help="what this machine has: versions, CPU/GPU, offline ImageNet weights, caches"),
    Command("samples", "video.samples:samples", show.samples, Shape(positional=("out",)),
            help="real photos and videos that ship offline, copied into one folder for practice"),
    Command("report", "reports.run_page:report", show.report,
            help="a run, an ensemble or a reproduce folder as one HTML page (curves, errors, Grad-CAM)"),
    Command("collect", "pipeline.training:collect", show.print_summary,
            help="assemble a run whose folds were trained on separate machines (--fold K)"),
    Command("predict", "pipeline.prediction:predict", show.predict,
            help="re-predict test images with a trained run"),
    Command("score", "pipeline.prediction:score", show.score, Shape(required=("truth",)),
            help="log loss and accuracy of a submission against labelled images"),
    Command("ensemble", "tricks.ensemble:ensemble", show.ensemble,
            help="blend finished runs (prediction files only), optionally calibrated"),
    Command("smooth", "tricks.smoothing:smooth", show.smooth,
            help="blend each prediction with its nearest test neighbours' (1st place)"),
    Command("label", "curation.label:label", show.label, Shape(rename={"from_run": "from"}),
            help="label stretches of videos on a local page with the keyboard; every change saved to a CSV"),
    Command("suggest", "curation.suggest:suggest", show.suggest,
            help="the unlabelled frames to label next: least sure, spread out (uncertainty, then k-means)"),
    Command("audit", "curation.audit:audit", show.audit,
            help="what in the data is probably wrong: label issues (confident learning), leaks, outliers; fixes.csv"),
    Command("pseudo", "tricks.pseudo:pseudo", show.pseudo, Shape(required=("data", "out")),
            help="a new dataset with confident test images as train-only images"),
    Command("reproduce", "recipes.chapter5:reproduce", show.reproduce, _reproduce_shape,
            help="run the book's chapter 5 steps in order and write the results table"),
    Command("frames", "video.frames:frames", show.frames, _frames_shape,
            help="cut frames out of videos into a dataset (the video is the group)"),
    Command("denoise", "denoising.filters:denoise", show.denoise, _frame_shape("denoise"),
            help="denoise images, folders or videos"),
    Command("denoise train", "denoising.n2n:train_denoiser", show.denoise_train, Shape(python_only=("images",)),
            help="train a Noise2Noise U-Net"),
    Command("denoise eval", "denoising.filters:evaluate_denoisers", show.denoise_eval,
            help="compare denoisers: PSNR, SSIM, time"),
    Command("denoise simulate", "denoising.unprocess:simulate_bursts", show.simulate,
            help="low-light RAW bursts (DNG) of offline photos, with the clean truth: learn without a camera"),
    Command("denoise eval-raw", "denoising.night_eval:evaluate_bursts", show.denoise_eval_raw,
            help="night shots: one frame, filters, bursts merged in sRGB and in RAW, RAW denoisers; PSNR/SSIM"),
    Command("detect faces", "detection.faces:detect_faces", show.detections,
            _frame_shape("faces", rename={"face_range": "range"}),
            help="faces: BlazeFace (default, with landmarks), Haar or MTCNN; photos, videos, cameras, streams"),
    Command("detect text", "detection.text:detect_text", show.detections, _frame_shape("detect"),
            help="text: PP-OCR (RapidOCR), or Tesseract for Korean; photos, videos, cameras, streams"),
    Command("detect people", "detection.objects:detect_people", show.detections,
            _frame_shape("detect", rename={"lines": "line", "zones": "zone"}, repeat=("lines", "zones")),
            help="people: COCO's SSD (default), SSDLite, the 23-class SSD, HOG or your ONNX; tracks and counts"),
    Command("detect objects", "detection.objects:detect_objects", show.detections,
            _frame_shape("detect", rename={"lines": "line", "zones": "zone"}, repeat=("lines", "zones")),
            help="COCO's 80 classes (person, car, truck, motorcycle, dog, ...): tracks, line and zone counts, "
                 "pre-labels out"),
    Command("detect eval", "detection.judge:evaluate_detections", show.detect_eval, Shape(required=("detections",)),
            help="detections against drawn boxes (COCO, YOLO, CVAT): mAP@0.5, mAP@0.5:0.95, MOTA, IDF1, HOTA"),
    Command("crops", "detection.crops:crops", show.crops,
            help="boxes of an annotation set cut into a class-per-folder dataset with groups (for --split group)"),
    Command("find", "detection.search:find", show.detections, _frame_shape("detect"),
            help="find a template image inside photos, videos, cameras and streams, at any scale and rotation"),
    Command("background", "segmentation.background:background", show.background, _frame_shape("detect"),
            help="keep the person (deep, people near the camera) or what moves (MOG2/KNN, a still far camera)"),
    Command("synth-cracks", "inspection.synth:synth_cracks", show.synth_cracks, Shape(positional=("out",)),
            help="write generated concrete surfaces with true crack masks (the CRACK500 layout)"),
    Command("cracks", "inspection.cracks:cracks", show.cracks, _frame_shape("cracks"),
            help="crack masks and measurements (length, width, orientation) of photos, videos and cameras"),
    Command("cracks train", "inspection.unet:train_cracks", show.cracks_train,
            help="train a crack U-Net on a crack set (images/ + masks/) or on generated surfaces"),
    Command("cracks eval", "inspection.cracks:evaluate_cracks", show.cracks_eval,
            help="score ridge and U-Net on a labelled crack set: skeleton F1 within 2 px, false alarms"),
    Command("synth clip", "pipeline.synthetic:synth_clip", show.synth_clip, Shape(positional=("out",)),
            help="write a generated dashboard clip of a new driver following a schedule of poses"),
    Command("synth crossing", "detection.synth:crossing_clip", show.synth_crossing, Shape(positional=("out",)),
            help="write a generated street where a person, a cat and a motorcycle cross a line at known times"),
    Command("export", "pipeline.export:export", show.export,
            help="a trained run as one ONNX file (fold mean inside) that onnxruntime alone can run"),
    Command("watch", "live.watch:watch", show.watch, _frame_shape("watch"),
            help="a trained run on a video, a camera or a stream: timeline, segments, alerts, annotated video"),
    Command("weights fetch", "pipeline.weights:fetch_weights", show.fetch,
            help="download a model's published ImageNet weights into the standard cache, checked (needs internet)"),
    Command("nilm synth", "nilm.synth:synth_houses", show.nilm_synth, Shape(positional=("out",)),
            help="write generated households (aggregate and appliance power) for learning NILM offline"),
    Command("nilm train", "nilm.run:train_nilm", show.nilm, Shape(positional=("data",)),
            help="seq2point beside the subtask gated network: appliances from the total, folds by house, judged"),
    Command("nilm predict", "nilm.run:predict_nilm", show.nilm, Shape(positional=("run", "data")),
            help="disaggregate houses with a trained NILM run (judged when the appliances were metered)"),
    Command("demo", "recipes.demo:demo", show.demo,
            help="the main job on a generated dataset: a 4-fold driver split on a CPU in minutes"),
]
BY_NAME = {c.name: c for c in COMMANDS}


def shape_of(cmd: Command) -> Shape:
    return cmd.shape() if callable(cmd.shape) else cmd.shape
