# kbd-lm: every target installs what it needs (virtualenv, packages, corpus) first.
#   make train export      train on the default corpus, write dist/bundle/
#   make test              run the test suite
#   make corpora           fetch and prepare the default and broad mixtures, print a summary
# Overrides: CORPUS= (a mixture, a recipe name or paths to text files; default: the preset's), PRESET=, CKPT=, BUNDLE=, PROFILE=, HOST=,
# PORT=,
# RESUME=1 (continue an interrupted training run), ARGS= (extra key=value overrides),
# WORKERS=N (train: N local worker processes, multi_worker strategy; serve: N server processes).

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

CORPUS ?=
PRESET ?= default
CKPT   ?= runs/$(PRESET)
BUNDLE ?= dist/bundle
PROFILE ?= default
HOST   ?= 127.0.0.1
PORT   ?= 8000
RESUME ?= 0
WORKERS ?= 1
ARGS   ?=

export TF_CPP_MIN_LOG_LEVEL ?= 2
export PYTHONUNBUFFERED := 1

.PHONY: venv corpora jsdeps train export eval bench serve loadtest test lint format clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) (Python 3.11)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

venv: $(STAMP)

# LiteRT.js for the in-browser predictor (pinned npm tarballs, sha256-checked, no Node needed).
JSDEPS := serve/static/vendor/.stamp
$(JSDEPS): $(STAMP) serve/jsdeps.py
	$(BIN)/python -m kbd_lm.serve.jsdeps
	touch $@

jsdeps: $(JSDEPS)

# Fetch (sha256-checked) and prepare every corpus source and mixture; print the summary.
corpora: $(STAMP)
	$(BIN)/python -m kbd_lm.dataset.report $(ARGS)

train: $(STAMP)
	$(BIN)/kbd-lm train --workers $(WORKERS) --preset $(PRESET) $(if $(CORPUS),'corpus="$(CORPUS)"') \
		'out_dir="$(CKPT)"' \
		$(if $(filter 1 true yes,$(RESUME)),resume=true) $(ARGS)

export: $(STAMP)
	$(BIN)/kbd-lm export --checkpoint $(CKPT) --out $(BUNDLE) $(ARGS)

# Bundles compared with BUNDLE in the same table (NAME=DIR or DIR), when they exist.
COMPARE ?= $(wildcard dist/chitchat dist/broad)

eval: $(STAMP)
	$(BIN)/kbd-lm eval --kinds --bundle $(BUNDLE) $(foreach b,$(COMPARE),--compare $(b)) $(ARGS)
	$(BIN)/kbd-lm eval --adaptive --bundle $(BUNDLE)

bench: $(STAMP)
	$(BIN)/kbd-lm bench --bundle $(BUNDLE) --profile $(PROFILE) $(ARGS)

serve: $(STAMP) $(JSDEPS)
	$(BIN)/kbd-lm serve --bundle $(BUNDLE) --host $(HOST) --port $(PORT) --workers $(WORKERS)

loadtest: $(STAMP)
	$(BIN)/kbd-lm loadtest --bundle $(BUNDLE) $(ARGS)

test: $(STAMP) $(JSDEPS)
	$(BIN)/ruff check .
	$(BIN)/pytest -q --durations=10

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf runs dist .pytest_cache
