# Thin targets: each is one command. `make run` and `make test` set up the stack's venv first.
# STACK=current (Python 3.12, TFX 1.21, .venv-current) or STACK=legacy (Python 3.10, TFX 1.16, .venv);
# unset, scripts/stack.sh picks by the host's glibc (>= 2.39: current). The current stack on an older host
# runs inside a Debian 13 root (scripts/rootfs.sh), built on first use.
STACK ?=
IN_STACK := STACK=$(STACK) bash scripts/in_stack.sh

.PHONY: setup run run-digits serve test test-unit lint lock clean compile

setup:
	@STACK=$(STACK) bash scripts/setup.sh

run: setup
	$(IN_STACK) glassbox run

run-digits: setup
	$(IN_STACK) glassbox run --config configs/digits.yaml

# The decision service on the latest pushed model (make run first); needs GLASSBOX_SERVE_TOKEN (README, "Serving").
serve: setup
	$(IN_STACK) glassbox serve

test: setup
	$(IN_STACK) sh -c 'ruff check . && python -m pytest'

# The unit tests only (no pipeline runs): what CI runs on the legacy stack, beside `make run`.
test-unit: setup
	$(IN_STACK) sh -c 'ruff check . && python -m pytest -m "not e2e"'

compile: setup
	$(IN_STACK) glassbox compile kubeflow

lint: setup
	$(IN_STACK) ruff check .

lock:
	bash scripts/lock.sh $(STACK)

clean:
	rm -rf outputs
