# Two entry points for a fresh machine with Python 3.11 and make:
#   make run   - create .venv, install auctionlab, run the main job (auctionlab reproduce -> results/report.html)
#   make test  - create .venv with the dev extras, run the whole test suite
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: run test test-lowest bench clean browser viz screenshot check-report docs notebooks execute-notebooks

# Installs go through uv (put into the venv by pip, from the package index): it resolves and
# installs the same packages several times faster than pip. Where uv cannot be installed or
# its install fails (an index only pip is configured for, say), pip does the same install.
install = if [ -x $(BIN)/uv ] && $(BIN)/uv pip install --quiet --python $(BIN)/python $(1); then :; \
	else $(BIN)/python -m pip install --quiet $(1); fi

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet uv || echo "uv could not be installed: installing with pip"

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(call install,-e .)
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(call install,-e ".[dev]")
	touch $@ $(VENV)/.installed

run: $(VENV)/.installed
	$(BIN)/auctionlab reproduce

# The page's browser test needs Chromium: installed from the system packages when missing and possible.
browser:
	@tools/install-browser

test: $(VENV)/.installed-dev browser
	$(BIN)/ruff check auctionlab tests benchmarks
	$(BIN)/ruff format --check auctionlab tests benchmarks
	$(BIN)/mypy
	$(BIN)/python -m pytest -n 2 -q

# The suite at the lowest versions pyproject.toml allows (each direct dependency at its lower bound,
# wheels only): run it whenever a lower bound changes or new code calls a newer library API.
# It rebuilds .venv-lowest from scratch every time and is not part of `make test` (see CONTRIBUTING.md).
VENV_LOWEST := .venv-lowest

test-lowest:
	rm -rf $(VENV_LOWEST)
	$(PYTHON) -m venv $(VENV_LOWEST)
	echo '*' > $(VENV_LOWEST)/.gitignore
	$(VENV_LOWEST)/bin/python -m pip install --quiet uv
	$(VENV_LOWEST)/bin/uv pip install --quiet --python $(VENV_LOWEST)/bin/python \
		--resolution lowest-direct --only-binary :all: -e ".[dev]"
	$(VENV_LOWEST)/bin/uv pip list --python $(VENV_LOWEST)/bin/python \
		| grep -iE '^(mesa|numpy|scipy|cvxpy|highspy|pandas|pyarrow|matplotlib|pyyaml|tqdm|networkx) '
	$(VENV_LOWEST)/bin/python -m pytest -n 2 -q -p no:cacheprovider

bench: $(VENV)/.installed
	for f in benchmarks/bench_*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

viz: $(VENV)/.installed-dev
	$(BIN)/auctionlab viz

screenshot: $(VENV)/.installed-dev browser
	$(BIN)/python -m auctionlab.viz.browser results/screenshots

# The main job's report (after `make run`) in headless Chromium at 1280 px: prints every image that
# does not load, cell reading NaN, element wider than the main column and markup left raw.
REPORT ?= results/report.html

check-report: $(VENV)/.installed-dev browser
	$(BIN)/python -m auctionlab.report.check $(REPORT)

docs: $(VENV)/.installed-dev
	$(BIN)/mkdocs build --strict --site-dir site

# JupyterLab on notebooks/ (the [jupyter] extra); the notebooks ship with their outputs.
$(VENV)/.installed-jupyter: pyproject.toml $(VENV)/.installed-dev
	$(call install,-e ".[jupyter]")
	touch $@

# Extra arguments for jupyter lab (e.g. JUPYTER_ARGS="--no-browser --port 8890"); as root (containers)
# Jupyter refuses to start without --allow-root.
JUPYTER_ARGS ?= $(if $(filter 0,$(shell id -u)),--allow-root)

notebooks: $(VENV)/.installed-jupyter
	$(BIN)/jupyter lab $(JUPYTER_ARGS) notebooks/

# Rerun every notebook in place at the size it ships with, storing the outputs to commit.
execute-notebooks: $(VENV)/.installed-dev
	$(BIN)/python tools/execute-notebooks

clean:
	rm -rf $(VENV) $(VENV_LOWEST) .pytest_cache .hypothesis
