# Entry points. Each target creates the virtualenv (.venv) when it is missing.
#   make reproduce   paper preset, every model: results/<model>.csv, results/figures/
#   make quick       quick preset: results/quick/*.csv in minutes
#   make test        the test suite (what CI runs)
#   make bench       benchmarks against baselines -> results/bench.csv
#   make readme-results  copy results/tutorial_table.md (built by make reproduce) into README.md

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Local runs take their settings from workflow/profiles/default (every CPU: `cores: all`);
# CORES=<n> on the make command line passes --cores <n> instead.
CORES ?=
SNAKEMAKE := $(BIN)/snakemake --workflow-profile workflow/profiles/default $(if $(CORES),--cores $(CORES))
# The torch build to install first. CPU by default; for a CUDA GPU e.g.
#   rm -rf .venv && make venv TORCH="torch==2.13.0 --index-url https://download.pytorch.org/whl/cu128"
# (an existing .venv is kept as it is: remove it to switch builds)
TORCH ?= torch==2.13.0

.PHONY: venv reproduce quick test bench lint readme-results clean

venv: $(BIN)/snakemake

$(BIN)/snakemake: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch first: installed after lightning, an open torch requirement pulls a multi-GB CUDA build
	$(BIN)/python -m pip install --quiet $(TORCH)
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

reproduce: venv
	$(SNAKEMAKE)

quick: venv
	$(SNAKEMAKE) --config preset=quick

test: venv
	$(BIN)/python -m pytest

# Every benchmark runs and prints its line; the target fails afterwards if any missed its goal.
BENCHMARKS := supervised rbm allocator bandwidth contention hmc rnnrbm dag ais

bench: venv
	$(SNAKEMAKE) results/data/mnist/train.npz results/data/nottingham/train.npz
	status=0; for b in $(BENCHMARKS); do $(BIN)/python bench/$$b.py || status=1; done; exit $$status

readme-results: venv
	$(BIN)/python -m dltutorials.readme README.md results/tutorial_table.md

lint: venv
	$(BIN)/ruff check src tests bench

clean:
	rm -rf results .snakemake
