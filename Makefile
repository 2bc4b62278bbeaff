# The two commands of the README: `make gameday` and `make test`.
# Both install what is missing first (Debian packages, .venv, the project).

VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.deps-installed
GAMEDAY_SANDBOX := gameday

.PHONY: deps test gameday lint

# Always re-checks; `test` and `gameday` re-run it only when the stamp is stale.
deps:
	bash scripts/install-deps.sh
	touch $(STAMP)

$(STAMP): pyproject.toml scripts/install-deps.sh
	bash scripts/install-deps.sh
	touch $@

test: $(STAMP)
	$(BIN)/pytest

# For now: boot the sandbox, show its status, tear it down (always).
gameday: $(STAMP)
	@rc=0; \
	$(BIN)/aftershock sandbox up --name $(GAMEDAY_SANDBOX) || rc=$$?; \
	if [ $$rc -eq 0 ]; then $(BIN)/aftershock sandbox status --name $(GAMEDAY_SANDBOX) || rc=$$?; fi; \
	$(BIN)/aftershock sandbox down --name $(GAMEDAY_SANDBOX) || rc=$$?; \
	exit $$rc

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
