# FaceTrace: `make demo` runs the whole pipeline locally, `make test` runs every test.
# Only Python 3.11+ with venv is assumed; everything else is installed here.

SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3.13 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)

# The shared faces and models beside the checkout (../shared), as CI uses them, unless the variables say otherwise:
# `make test` then runs the whole suite and `make demo` uses the real photos and the buffalo_s models.
ifneq ($(wildcard ../shared/data),)
export FACETRACE_TEST_DATA ?= $(abspath ../shared/data)
endif
ifneq ($(wildcard ../shared/models),)
export FACETRACE_TEST_MODELS ?= $(abspath ../shared/models)
endif

# Quiet, metric-free logs for the demo; the tests keep powertools' defaults.
DEMO_ENV := POWERTOOLS_LOG_LEVEL=WARNING POWERTOOLS_METRICS_DISABLED=true


.PHONY: demo demo-footage serve test test-python lint-template lint-dockerfile build-template install browser clean help

help:
	@echo "make demo   - install, bring up the local stack, enrol a case, upload a sighting, print the alert"
	@echo "make serve  - the demo, then the stack and the portal stay up until Ctrl-C"
	@echo "make demo-footage - the same stack: a clip uploaded, followed, and an alert per appearance"
	@echo "make test   - install, then unit + integration + end-to-end tests, the template lint and sam build"

$(STAMP): pyproject.toml
	@echo "==> creating $(VENV) with $(PYTHON) and installing FaceTrace (first run takes a few minutes)"
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade --progress-bar on pip
	$(PY) -m pip install --progress-bar on -e '.[worker,cpu,local,dev]'
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(DEMO_ENV) $(PY) -m devstack.demo

# Footage (issue #14): a clip uploaded, its progress followed, one alert per appearance.
demo-footage: $(STAMP)
	$(DEMO_ENV) $(PY) -m devstack.footage_demo

# The demo, then the whole stack stays up (portal included) until Ctrl-C.
serve: $(STAMP)
	$(DEMO_ENV) FACETRACE_DEMO_SERVE=1 $(PY) -m devstack.demo

# sam build first: tests/unit/test_shipped.py reads the layer it builds.
test: build-template test-python lint-template lint-dockerfile

test-python: $(STAMP) browser
	$(PY) -m pytest

# Chromium for the portal's browser test (tests/e2e/test_portal.py): Playwright drives it and never downloads one.
# Installed rather than skipped, so a CI without it fails loudly instead of passing without the browser test.
browser:
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update && apt-get install -y chromium; } \
		|| { echo "chromium is missing: install it (apt-get install chromium) for the portal test"; exit 1; }

lint-template:
	scripts/lint_template.sh

# hadolint on the GPU worker image (gpu_worker/Dockerfile); warnings fail.
lint-dockerfile:
	scripts/lint_dockerfile.sh

# The same `sam build` a deploy runs (functions + the common layer), kept apart from .aws-sam/build.
build-template:
	scripts/sam.sh build --build-dir .aws-sam/test-build

clean:
	rm -rf $(VENV) .venv-sam .aws-sam *.egg-info

# Gallery search benchmark (docs/benchmarks.md, "Gallery search"): exact numpy vs FAISS, pre-filters, cold loads.
# Needs MariaDB on 127.0.0.1:3306 for the MySQL row; LFW_EMBEDDINGS=path.npz adds real-embedding recall.
# OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE are unset for this command only: they can force a slower BLAS kernel.
.PHONY: bench bench-search bench-e2e bench-engine
bench: bench-search bench-e2e bench-engine
bench-search: $(STAMP)
	$(PY) -m pip install -q -e '.[bench]'
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(PY) scripts/bench_search.py $(if $(LFW_EMBEDDINGS),--real $(LFW_EMBEDDINGS))

# End-to-end benchmark (docs/benchmarks.md, "End to end"): 200 sightings through the local stack.
bench-e2e: $(STAMP)
	@test -n "$$FACETRACE_TEST_DATA" || { echo "bench-e2e needs FACETRACE_TEST_DATA (the shared LFW photos)"; exit 2; }
	$(DEMO_ENV) $(PY) scripts/bench_e2e.py --uploads 200 --rate 2

# Face engine throughput per pack (docs/benchmarks.md, "Face engine").
bench-engine: $(STAMP)
	@test -n "$$FACETRACE_TEST_DATA" || { echo "bench-engine needs FACETRACE_TEST_DATA (the shared LFW photos)"; exit 2; }
	$(PY) scripts/bench_engine.py --images 200 --pack dlib $(if $(FACETRACE_TEST_MODELS),--pack gpu_worker/packs/manifests/scrfd500m-mbf --model-dir $(FACETRACE_TEST_MODELS))
