# Thin targets: each is one command. `make run` and `make test` set up .venv first.
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup run run-digits test lint lock clean compile

setup:
	@bash scripts/setup.sh

run: setup
	$(BIN)/glassbox run

run-digits: setup
	$(BIN)/glassbox run --config configs/digits.yaml

test: setup
	$(BIN)/ruff check . && $(BIN)/python -m pytest

compile: setup
	$(BIN)/glassbox compile kubeflow

lint: setup
	$(BIN)/ruff check .

lock:
	bash scripts/lock.sh

clean:
	rm -rf outputs
