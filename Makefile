# Two entry points: `make demo` and `make test`. Both build .venv from scratch on a fresh machine.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test install test-assets clean

$(STAMP): pyproject.toml constraints.txt Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/tamgu demo --out runs/demo

test: $(STAMP) test-assets
	$(PY) -m pytest -q

# Real sample videos and images from Debian (vtest.avi ...): installed when we may, else those tests skip.
OPENCV_DOC := /usr/share/doc/opencv-doc/examples/data/vtest.avi
test-assets:
	@test -f $(OPENCV_DOC) || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends opencv-doc >/dev/null; } ; } || \
	  echo "note: opencv-doc could not be installed; the tests that need its sample videos will be skipped"

clean:
	rm -rf $(VENV) runs .pytest_cache
