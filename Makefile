# seqinfer: `make train export` trains and exports all three kinds on the built-in sine; `make test` runs the suite.
# Every target builds .venv first from constraints.txt with every extra (train, dask, dev), so a fresh clone
# needs only python3 (3.11+) and make; `pip install seqinfer` alone is the inference-only install.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
SEQ    := $(VENV)/bin/seqinfer
KINDS  := rnn lstm gru
ART    ?= artifacts
STAMP  := $(VENV)/.installed

.PHONY: install train export verify test lint bench clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt setup.py infer/_csvfast.c infer/_csvread.c
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e '.[train,dask,dev]'
	touch $(STAMP)

train: $(STAMP)
	$(SEQ) train --model all --out $(ART)

export: $(STAMP)
	@for k in $(KINDS); do $(SEQ) export $(ART)/$$k || exit $$?; done

verify: $(STAMP)
	@for k in $(KINDS); do $(SEQ) verify $(ART)/$$k || exit $$?; done

# Two pytest workers (pytest-xdist): the suite is mostly subprocesses starting Python, torch and onnxruntime,
# one core each. Measured on the 2-core machine: 8m37s in one process, 5m17s in two.
test: $(STAMP)
	$(PY) -m pytest -q -n 2

lint: $(STAMP)
	$(VENV)/bin/ruff check trainer export infer tests bench
	$(VENV)/bin/mypy trainer export infer

bench: $(STAMP)
	$(PY) -m bench.run --out bench/results --readme README.md

clean:
	rm -rf $(VENV) $(ART) .pytest_cache .mypy_cache .ruff_cache *.egg-info
