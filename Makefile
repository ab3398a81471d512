# The two commands a person needs: `make run` starts the app, `make test` runs the tests.
# Both set up the machine the first time (scripts/bootstrap.sh) and do nothing extra after that.
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test setup lint bench clean-venv

setup:
	@bash scripts/bootstrap.sh

run: setup
	@bash scripts/run_app.sh $(ARGS)

test: setup
	@bash scripts/run_tests.sh $(ARGS)

lint: setup
	@$(BIN)/ruff check composer_app models tests

bench: setup
	@$(BIN)/everybody-compose bench step

clean-venv:
	rm -rf $(VENV)
