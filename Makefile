# The two commands of the course:
#   make lab    set up .venv if needed and open the course in JupyterLab
#   make test   set up .venv if needed and run the whole test suite (fast mode)
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup lab test lint test-emulated-gpu bench site clean-venv

LOCK   := requirements-lock.txt
# The course's JupyterLab defaults (no news prompt), kept here rather than in the learner's home.
LAB_SETTINGS := --LabApp.app_settings_dir=$(CURDIR)/tools/lab-settings

# The course's own environment: the package's ranges, resolved to the exact versions of the lock.
# pip installs uv (pinned by the lock) and uv installs the rest: the same packages, in half the time.
# uv reads no pip configuration, so it is handed the local wheel folders that pip is told of
# (PIP_FIND_LINKS or pip's global.find-links), where a machine keeps torch; and, as pip does, it
# compiles the packages' bytecode once, here (where PYTHONDONTWRITEBYTECODE is set, as on the course's
# machines, every kernel and test process would otherwise compile torch's modules again as it starts).
FIND_LINKS = $(strip $(or $(PIP_FIND_LINKS),$(shell $(PYTHON) -m pip config get global.find-links 2>/dev/null)))
$(STAMP): pyproject.toml $(LOCK)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -c $(LOCK) uv
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python $(foreach d,$(FIND_LINKS),--find-links $(d)) \
		-c $(LOCK) -e '.[lab,test,class]'
	@touch $(STAMP)

setup: $(STAMP)

lab: setup
	$(BIN)/jupyter lab --LabApp.default_url=/lab/tree/notebooks $(LAB_SETTINGS) $(if $(filter 0,$(shell id -u)),--allow-root)

test: setup
	COURSE_LIB_FAST=1 MPLBACKEND=Agg $(BIN)/python -m pytest -n 2 --dist loadfile --no-loadscope-reorder \
		--nbval-lax --nbval-current-env --nbval-cell-timeout=600 \
		tests notebooks exercises

# The code gate (.ci/run runs it first): ruff's lint rules and mypy's type check, as pyproject.toml sets them.
lint: setup
	$(BIN)/ruff check .
	$(BIN)/mypy

# The suite (not the browser test) on a pretend GPU: device mistakes fail here as on CUDA.
test-emulated-gpu: setup
	bash tools/emulated_cuda/run.sh

bench: setup
	$(BIN)/python -m course_lib.bench

# A read-only rendering of every lesson into site/, for reading before installing: in full mode where
# the trained models are at hand (the cache, after class_models prepare or install), in fast mode otherwise.
site: setup
	$(BIN)/python tools/build_site.py --out site --mode auto

clean-venv:
	rm -rf $(VENV)
