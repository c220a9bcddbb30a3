# kbd-lm: every target installs what it needs (virtualenv, packages, corpus) first.
#   make train export      train on the default corpus, write dist/bundle/
#   make test              lint, import contracts, JS check, then the test suite
#   make help              every target and variable
# Each stage takes its own extra `key=value` overrides (TRAIN_ARGS=, EXPORT_ARGS=, ...), so
# `make train export TRAIN_ARGS="units=512"` gives units to the training only.
# `make help` prints the `## ` comments below: one after each target, and the variables' lines.

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

## Variables (make TARGET VAR=value):
##   CORPUS=          a mixture, a recipe name or paths to text files (default: the preset's)
##   PRESET=default   training preset (kbd_lm/configs/train/NAME.toml or a TOML path)
##   CKPT=runs/PRESET checkpoint folder that train writes and export reads
##   BUNDLE=dist/bundle  bundle folder that export writes and eval, bench, serve, loadtest read
##   NGRAM_BUNDLE=    native, native-sanitize: a bundle with an n-gram whose vectors and
##                    damaged n-gram the ctest runs too (export with ngram_bytes)
##   COMPARE=         more bundles in eval's table, NAME=DIR or DIR (default: those of
##                    dist/chitchat and dist/broad that exist)
##   PROFILE=default  bench's phone profile (export/bench/budgets/NAME.toml); native: the
##                    native decoder beside the Python one
##   HOST=127.0.0.1 PORT=8000  where serve listens
##   RESUME=1         train: continue an interrupted run from its last checkpoint
##   TRAIN_WORKERS=1  train: N local worker processes (multi_worker strategy)
##   SERVE_WORKERS=1  serve: N server processes
##   CORPORA_ARGS= TRAIN_ARGS= EXPORT_ARGS= EVAL_ARGS= ADAPTIVE_ARGS= BENCH_ARGS= SERVE_ARGS=
##   LOADTEST_ARGS=   extra arguments of one stage (train, eval, adaptive: key=value overrides;
##                    ADAPTIVE_ARGS go to eval's personal-history run)
##   ARGS= WORKERS=   deprecated in 0.9.0, removed in 0.10: the per-stage variables above
CORPUS  ?=
PRESET  ?= default
CKPT    ?= runs/$(PRESET)
BUNDLE  ?= dist/bundle
NGRAM_BUNDLE ?=
PROFILE ?= default
HOST    ?= 127.0.0.1
PORT    ?= 8000
RESUME  ?= 0

# 0.8's ARGS went to every stage and WORKERS to train and serve alike; until 0.10 they keep
# doing so (each per-stage variable defaults to them), with a warning.
ifneq ($(filter command line environment,$(origin ARGS)),)
$(warning ARGS= is deprecated (removed in 0.10): it goes to every stage; use CORPORA_ARGS=, TRAIN_ARGS=, EXPORT_ARGS=, EVAL_ARGS=, BENCH_ARGS= or LOADTEST_ARGS=)
endif
ifneq ($(filter command line environment,$(origin WORKERS)),)
$(warning WORKERS= is deprecated (removed in 0.10): use TRAIN_WORKERS= (train) or SERVE_WORKERS= (serve))
endif
ARGS    ?=
WORKERS ?= 1
CORPORA_ARGS  ?= $(ARGS)
TRAIN_ARGS    ?= $(ARGS)
EXPORT_ARGS   ?= $(ARGS)
EVAL_ARGS     ?= $(ARGS)
ADAPTIVE_ARGS ?=
BENCH_ARGS    ?= $(ARGS)
SERVE_ARGS    ?=
LOADTEST_ARGS ?= $(ARGS)
TRAIN_WORKERS ?= $(WORKERS)
SERVE_WORKERS ?= $(WORKERS)

export TF_CPP_MIN_LOG_LEVEL ?= 2
export PYTHONUNBUFFERED := 1

.DEFAULT_GOAL := venv
.PHONY: help venv corpora jsdeps train export eval bench serve loadtest test lint format clean \
	native native-deps native-test native-sanitize

help: ## list the targets and variables
	@echo "usage: make TARGET... [VAR=value...]"
	@echo "targets:"
	@awk -F ':.*## ' '/^[a-z][a-z-]*:.*## / { printf "  %-10s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)
	@sed -n 's/^## //p' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) (Python 3.11)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

venv: $(STAMP) ## the virtualenv .venv with every extra (.[dev])

# LiteRT.js for the in-browser predictor (pinned npm tarballs, sha256-checked, no Node needed).
JSDEPS := serve/static/vendor/.stamp
$(JSDEPS): $(STAMP) serve/jsdeps.py
	$(BIN)/python -m kbd_lm.serve.jsdeps
	touch $@

jsdeps: $(JSDEPS) ## fetch LiteRT.js for the browser predictor

# Biome for the browser JS (a pinned npm tarball, sha256-checked, fetched on first use into
# .venv/tools/); biome.json says which files and which style. Warnings fail the check too.
BIOME       := $(BIN)/python -m kbd_lm.serve.jslint
BIOME_CHECK := $(BIOME) check --error-on-warnings

# The native decoder (native/, docs/native.md): Debian's compiler, CMake and libraries, LiteRT
# from the virtualenv's ai-edge-litert wheel (2.3.*, checked when CMake configures). The Debian
# packages are listed once, in native/debian-packages.txt (tests/native/conftest.py reads it
# too): run as root, `make native` installs the missing ones with apt-get; otherwise it names
# the command. The JDK's headers build the JNI binding native/build/libkbd_lm_jni.so
# (dev.kbdlm.KbdPredictor).
NATIVE_DEBS  := $(shell awk '!/^\#/ && NF { print $$1 }' native/debian-packages.txt)
NATIVE_BUILD := native/build
NATIVE_LIB   := $(NATIVE_BUILD)/libkbd_lm.so

native-deps: ## install the native build's Debian packages (as root), or name the command
	@missing=$$(for p in $(NATIVE_DEBS); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' \
		|| echo $$p; done); \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "installing" $$missing; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
				apt-get install -y -qq --no-install-recommends $$missing; \
		else \
			echo "the native build needs: sudo apt-get install" $$missing; exit 1; \
		fi; \
	fi

native: $(STAMP) native-deps ## build native/build/libkbd_lm.so (no libpython) and its JNI glue libkbd_lm_jni.so
	nice -n 10 cmake -S native -B $(NATIVE_BUILD) -DCMAKE_BUILD_TYPE=Release \
		-DKBD_LM_VENV=$(abspath $(VENV)) -DKBD_LM_BUNDLE=$(abspath $(BUNDLE)) \
		-DKBD_LM_NGRAM_BUNDLE=$(if $(NGRAM_BUNDLE),$(abspath $(NGRAM_BUNDLE)))
	nice -n 10 cmake --build $(NATIVE_BUILD) -j2
	cmake -DLIB=$(NATIVE_LIB) -P native/tests/needs.cmake

native-test: native ## the native decoder's ctest: unit tests and BUNDLE's conformance vectors
	nice -n 10 ctest --test-dir $(NATIVE_BUILD) --output-on-failure

native-sanitize: native ## the native ctest built with AddressSanitizer + UBSan (native/build-sanitize)
	nice -n 10 cmake -S native -B native/build-sanitize -DKBD_LM_SANITIZE=ON \
		-DKBD_LM_VENV=$(abspath $(VENV)) -DKBD_LM_BUNDLE=$(abspath $(BUNDLE)) \
		-DKBD_LM_NGRAM_BUNDLE=$(if $(NGRAM_BUNDLE),$(abspath $(NGRAM_BUNDLE)))
	nice -n 10 cmake --build native/build-sanitize -j2
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		nice -n 10 ctest --test-dir native/build-sanitize --output-on-failure

corpora: $(STAMP) ## fetch (sha256-checked) and prepare every corpus mixture, print a summary
	$(BIN)/kbd-lm corpora $(CORPORA_ARGS)

train: $(STAMP) ## train the tokenizer and the model into CKPT
	$(BIN)/kbd-lm train --workers $(TRAIN_WORKERS) --preset $(PRESET) \
		$(if $(CORPUS),'corpus="$(CORPUS)"') 'out_dir="$(CKPT)"' \
		$(if $(filter 1 true yes,$(RESUME)),resume=true) $(TRAIN_ARGS)

export: $(STAMP) ## convert the checkpoint CKPT into the bundle BUNDLE
	$(BIN)/kbd-lm export --checkpoint $(CKPT) --out $(BUNDLE) $(EXPORT_ARGS)

# Bundles compared with BUNDLE in the same table (NAME=DIR or DIR), when they exist.
COMPARE ?= $(wildcard dist/chitchat dist/broad)

eval: $(STAMP) ## keyboard metrics per kind of text, then the personal-history evaluation
	$(BIN)/kbd-lm eval --kinds --bundle $(BUNDLE) $(foreach b,$(COMPARE),--compare $(b)) \
		$(EVAL_ARGS)
	$(BIN)/kbd-lm eval --adaptive --bundle $(BUNDLE) $(ADAPTIVE_ARGS)

# PROFILE=native times the native decoder beside the Python one: it needs `make native`.
bench: $(STAMP) $(if $(filter native,$(PROFILE)),native) ## latency, memory and size of BUNDLE under the phone profile PROFILE
	$(BIN)/kbd-lm bench --bundle $(BUNDLE) --profile $(PROFILE) $(BENCH_ARGS)

serve: $(STAMP) $(JSDEPS) ## the HTTP server and demo page on BUNDLE at HOST:PORT
	$(BIN)/kbd-lm serve --bundle $(BUNDLE) --host $(HOST) --port $(PORT) \
		--workers $(SERVE_WORKERS) $(SERVE_ARGS)

loadtest: $(STAMP) ## open-loop HTTP load test of the server on BUNDLE
	$(BIN)/kbd-lm loadtest --bundle $(BUNDLE) $(LOADTEST_ARGS)

# The native library is built before pytest (tests/native/ runs its ctest executables, the
# sanitized build's too, the Python engine and the JNI binding). A build that cannot run (no
# compiler or package, not root) does not stop `make test`: the native tests then skip naming
# what to install, or with CI=true fail.
test: $(STAMP) $(JSDEPS) ## ruff, import contracts, Biome on the browser JS, the native build, then pytest
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache
	$(BIOME_CHECK)
	@$(MAKE) --no-print-directory native \
		|| echo "make test: the native build did not run; the native tests will $(if $(filter 1 true yes,$(CI)),fail,skip)"
	$(BIN)/pytest -q --durations=10

lint: $(STAMP) ## ruff and Biome (lint and format check), import contracts
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache
	$(BIOME_CHECK)

format: $(STAMP) ## format Python (ruff) and the browser JS (Biome)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .
	$(BIOME) format --write

clean: ## remove runs/, dist/ and the test caches
	rm -rf runs dist .pytest_cache
