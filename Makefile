# The two commands of the README: `make gameday` and `make test`.
# Both install what is missing first (Debian packages, .venv, the project).

VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.deps-installed
GAMEDAY_SANDBOX := gameday
# gameday-rest's sandbox: one of its own, so CI runs it beside the gate.
REST_SANDBOX := gdrest

.PHONY: deps test gameday gameday-rest drill lint

# Always re-checks; `test` and `gameday` re-run it only when the stamp is stale.
deps:
	bash scripts/install-deps.sh
	touch $(STAMP)

$(STAMP): pyproject.toml scripts/install-deps.sh examples/services/orders-api/package-lock.json
	bash scripts/install-deps.sh
	touch $@

# Two runs: every test but the breakage pools on two pytest-xdist workers,
# each with a shared sandbox of its own (a module stays on one worker), then
# the modules that boot several sandboxes at once, with nothing beside them. Both
# run whatever the first gave; the exit code is non-zero if either failed.
test: $(STAMP)
	@code=0; \
	$(BIN)/pytest -m "not many_sandboxes" -n 2 --dist loadfile --durations=25 || code=$$?; \
	$(BIN)/pytest -m many_sandboxes --durations=25 || code=$$?; \
	exit $$code

# The resilience gate: every experiment tagged `gate`, on a sandbox the run
# boots and tears down itself. Its exit code is the verdict; journals, load
# evidence and node logs land in results/gate-<time>/, with the game-day
# report (report.html, summary.md, summary.json). The run is also judged
# against the release policy in gate.yaml (required experiments, minimum
# score, budgets, regression against the last passing runs in results/).
gameday: $(STAMP)
	@$(BIN)/pytest experiments -m gate --sandbox $(GAMEDAY_SANDBOX) -p no:cacheprovider \
		--gate-policy gate.yaml \
		--junitxml results/gate-junit.xml; \
	code=$$?; echo "gate exit code $$code (0 passed, 1 failed, 2 usage, 3 could not run)"; \
	exit $$code

# The game-day experiments the gate does not run (region-crash,
# network-partition, cache-outage, replication-lag): with `make gameday`,
# every experiment runs. CI runs both at once, each on a sandbox of its own;
# a game day runs `-m gameday`.
gameday-rest: $(STAMP)
	$(BIN)/pytest experiments -m "gameday and not gate" --sandbox $(REST_SANDBOX) \
		-p no:cacheprovider --junitxml results/gameday-rest-junit.xml

# The monthly DR drill's six steps on a sandbox of its own (docs/drill.md);
# Its exit code is the gate's, its DR report in results/gate-<time>/.
drill: $(STAMP)
	$(BIN)/aftershock drill --name drill

# ruff, then the import contract in pyproject.toml: imports go down the layers
# (docs/layout.md) and no package of aftershock imports in a circle.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache
