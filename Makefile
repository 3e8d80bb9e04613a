# Entry points. Each target creates the virtualenv (.venv) when it is missing.
#   make reproduce   paper preset, every model: results/<model>.csv, results/figures/
#   make quick       quick preset: results/quick/*.csv in minutes
#   make test        the test suite (what CI runs)
#   make bench       benchmarks against baselines -> results/bench.csv
#   make keep        keep the paper preset's tables by seed: published/<table>/seed<N>.csv (TABLES="results/dbn.csv ...")
#   make published-table  published/tutorial_table.{csv,md} from the kept tables
#   make readme-results  rebuild published/tutorial_table.md and copy it into README.md
#   make same-numbers BASE=<commit>  the tiny and quick tables of BASE and of this tree, compared digit for digit

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

.PHONY: venv reproduce quick test bench lint keep published-table readme-results same-numbers clean

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
BENCHMARKS := supervised rbm bandwidth contention hmc rnnrbm dag ais

bench: venv
	$(SNAKEMAKE) results/data/mnist/train.npz results/data/nottingham/train.npz
	status=0; for b in $(BENCHMARKS); do $(BIN)/python bench/$$b.py || status=1; done; exit $$status

# The published results (dltutorials.published): the paper preset's tables kept by seed in published/, the
# tutorial table rebuilt from them. TABLES: the tables to keep (default: every one the tutorial table reads that
# results/ holds); e.g. make keep TABLES="results/sda.csv" SEEDS="1235 1236".
TABLES ?=
SEEDS ?=
keep: venv
	$(BIN)/python -m dltutorials.published keep $(TABLES) $(if $(SEEDS),--seeds $(SEEDS))

published-table: venv
	$(BIN)/python -m dltutorials.published table

readme-results: published-table
	$(BIN)/python -m dltutorials.readme README.md published/tutorial_table.md

# A restructuring changes no number: the tiny and quick presets' tables (every model, the likelihoods, the
# sweep) built at BASE and in this working tree, each with its own code and configs, then compared digit for
# digit, times, commits and versions aside (dltutorials.numbers). About twice `make quick` of wall time.
BASE ?= HEAD
MIRROR ?= $(abspath ../shared/data)
NUMBERS := $(abspath .numbers)
# NUMBER_PRESETS=tiny: the tiny preset alone, in minutes
NUMBER_PRESETS ?= tiny quick
NUMBER_TARGETS := results/tiny/rbm_likelihood.csv results/tiny/rnnrbm_likelihood.csv results/tiny/sweeps/dbn_lr.png
define build_numbers # <tree> <results folder>
	cd $(1) && for preset in $(NUMBER_PRESETS); do PYTHONPATH=$(1)/src DLTUTORIALS_CACHE_DIR=$(2)/.cache \
		$(abspath $(BIN))/snakemake --workflow-profile $(1)/workflow/profiles/default $(if $(CORES),--cores $(CORES)) \
		--directory $(2) $$( [ $$preset = tiny ] && echo all $(NUMBER_TARGETS) ) \
		--config preset=$$preset data_mirror=$(MIRROR) \
		|| exit 1; done
endef

same-numbers: venv
	rm -rf $(NUMBERS) && git worktree prune && git worktree add --detach $(NUMBERS)/base $(BASE)
	$(call build_numbers,$(NUMBERS)/base,$(NUMBERS)/base_run)
	$(call build_numbers,$(CURDIR),$(NUMBERS)/this_run)
	$(BIN)/python -m dltutorials.numbers $(NUMBERS)/base_run/results $(NUMBERS)/this_run/results --presets $(NUMBER_PRESETS)

lint: venv
	$(BIN)/ruff check src tests bench

clean:
	rm -rf results .snakemake .numbers
	git worktree prune
