# kbd-lm: every target installs what it needs (virtualenv, packages, corpus) first.
#   make train export      train on the default corpus, write dist/bundle/
#   make test              run the test suite
#   make corpora           fetch and prepare the default and broad mixtures, print a summary
# Overrides: CORPUS= (recipe name or path to text files), PRESET=, CKPT=, BUNDLE=, PROFILE=, HOST=,
# PORT=,
# RESUME=1 (continue an interrupted training run), ARGS= (extra key=value overrides),
# WORKERS=N (train: N local worker processes, multi_worker strategy; serve: N server processes).

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

CORPUS ?= chitchat
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

.PHONY: venv corpora train export eval bench serve loadtest test lint format clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) (Python 3.11)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

venv: $(STAMP)

# Fetch (sha256-checked) and prepare every corpus source and mixture; print the summary.
corpora: $(STAMP)
	$(BIN)/python -m kbd_lm.corpus_report $(ARGS)

train: $(STAMP)
	$(BIN)/kbd-lm train --workers $(WORKERS) --preset $(PRESET) 'corpus="$(CORPUS)"' \
		'out_dir="$(CKPT)"' \
		$(if $(filter 1 true yes,$(RESUME)),resume=true) $(ARGS)

export: $(STAMP)
	$(BIN)/kbd-lm export --checkpoint $(CKPT) --out $(BUNDLE) $(ARGS)

eval: $(STAMP)
	$(BIN)/kbd-lm eval --bundle $(BUNDLE) $(ARGS)

bench: $(STAMP)
	$(BIN)/kbd-lm bench --bundle $(BUNDLE) --profile $(PROFILE) $(ARGS)

serve: $(STAMP)
	$(BIN)/kbd-lm serve --bundle $(BUNDLE) --host $(HOST) --port $(PORT) --workers $(WORKERS)

loadtest: $(STAMP)
	$(BIN)/kbd-lm loadtest --bundle $(BUNDLE) $(ARGS)

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf runs dist .pytest_cache
