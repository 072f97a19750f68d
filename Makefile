# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
TORCH ?= torch==2.13.0
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Data sets shipped beside the repository (tests and the demo never download).
DATA ?= $(abspath ../shared/data)
DEMO_EPOCHS ?= 3
BENCH_EPOCHS ?= 10
BENCH_SEEDS ?= 1

.PHONY: demo test lint format bench bench-throughput clean

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q "$(TORCH)"
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	@if [ -f "$(DATA)/mnist/train-images-idx3-ubyte.gz" ]; then \
	  $(BIN)/ganlearn train -c mnist_ssl --data-dir "$(DATA)" --no-download --epochs $(DEMO_EPOCHS); \
	else \
	  echo "MNIST not found under $(DATA); running on scikit-learn's bundled 8x8 digits"; \
	  $(BIN)/ganlearn train -c digits_ssl; \
	fi

# One worker per core, one torch thread per worker: the tests' models are small, so two processes
# use 2 cores better than one process's two threads (five test files on a
# noisy machine: 201 and 392 s, against 250 and 829 s serially).
test: $(STAMP)
	OMP_NUM_THREADS=1 GANLEARN_DATA="$(DATA)" $(BIN)/python -m pytest -n auto

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP)
	$(BIN)/python bench/ssl_mnist.py --data-dir "$(DATA)" --epochs $(BENCH_EPOCHS) --seeds $(BENCH_SEEDS)

bench-throughput: $(STAMP)
	$(BIN)/python bench/throughput.py --data-dir "$(DATA)"

clean:
	rm -rf $(VENV) runs .pytest_cache
