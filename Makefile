PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

# The bounds check: the declared lower bounds (tools/lower_bounds.py reads pyproject.toml)
# in their own venv, a fast subset of the suite there, and both transformers exports loaded
# by the oldest transformers they claim and by the newest. See docs/install.md.
BOUNDS := .venv-bounds
TF_OLDEST_HUBERT := .venv-tf4
TF_NEWEST := .venv-tf-newest
TORCH_PIN := torch==2.13.0
# Every module imported, then the main paths: students, teachers, the CLI, a tiny distillation
# and its resume, pretraining (scikit-learn, scipy), exports (transformers, ONNX, int8),
# data, metrics (jiwer), the wheel. A few minutes; the full suite runs in `make test`.
BOUNDS_TESTS := tests/test_packaging.py tests/packaging tests/students/test_io.py \
	tests/students/test_presets.py tests/students/test_distilhubert.py tests/test_loss.py \
	tests/test_teachers.py tests/test_embedded_teacher.py tests/test_cli.py \
	tests/training/test_distill_config.py tests/training/test_distill_run.py \
	tests/training/test_distill_resume.py \
	tests/pretraining tests/export/test_export_transformers.py tests/export/test_export_onnx.py \
	tests/data tests/config tests/evaluation/test_eval_metrics.py

.PHONY: install test test-bounds demo lint clean

$(BIN)/python:
	$(PY) -m venv $(VENV)

# One pip call with torch pinned, so no CUDA build gets pulled in (see docs/install.md).
$(STAMP): $(BIN)/python pyproject.toml requirements/cpu.txt
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements/cpu.txt -e ".[export,test]"
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -q tests

$(BOUNDS)/.installed: pyproject.toml tools/lower_bounds.py
	rm -rf $(BOUNDS) && $(PY) -m venv $(BOUNDS)
	$(PY) tools/lower_bounds.py --extras export,test --skip ruff --pin $(TORCH_PIN) > $(BOUNDS)/lower-bounds.txt
	$(BOUNDS)/bin/pip install --quiet --only-binary=:all: -r $(BOUNDS)/lower-bounds.txt
	touch $@

# Loaders of the exports: torch, transformers and safetensors only, as a hub user has.
$(TF_OLDEST_HUBERT)/.installed:
	rm -rf $(TF_OLDEST_HUBERT) && $(PY) -m venv $(TF_OLDEST_HUBERT)
	$(TF_OLDEST_HUBERT)/bin/pip install --quiet --only-binary=:all: $(TORCH_PIN) transformers==4.45.2 safetensors numpy
	touch $@

$(TF_NEWEST)/.installed:
	rm -rf $(TF_NEWEST) && $(PY) -m venv $(TF_NEWEST)
	$(TF_NEWEST)/bin/pip install --quiet --only-binary=:all: $(TORCH_PIN) transformers safetensors numpy
	touch $@

test-bounds: $(BOUNDS)/.installed $(TF_OLDEST_HUBERT)/.installed $(TF_NEWEST)/.installed
	$(BOUNDS)/bin/pip list --format=freeze > $(BOUNDS)/tested.txt
	PYTHONPATH=src GENDISTILLER_EXPORT_LOADERS="$(abspath $(TF_OLDEST_HUBERT))/bin/python \
	$(abspath $(BOUNDS))/bin/python $(abspath $(TF_NEWEST))/bin/python" \
		$(BOUNDS)/bin/python -m pytest -q -p no:cacheprovider $(BOUNDS_TESTS)

demo: $(STAMP)
	$(BIN)/gendistiller demo

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

clean:
	rm -rf $(VENV) $(BOUNDS) $(TF_OLDEST_HUBERT) $(TF_NEWEST) build *.egg-info src/*.egg-info .pytest_cache
