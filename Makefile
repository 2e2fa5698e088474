# Every target creates .venv on first use: torch is installed first, pinned to the CPU build,
# so the package's own `torch` requirement is already met and no CUDA wheels are fetched.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
TORCH := torch==2.13.0

.PHONY: setup demo app test test-slow test-browser validate bench fit-example pretrained lint clean

$(BIN)/rlcraving: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q $(TORCH)
	$(BIN)/pip install -q -e ".[dev,ray]"
	touch $@

setup: $(BIN)/rlcraving

demo: setup
	$(BIN)/rlcraving demo

app: setup
	$(BIN)/rlcraving app

test: setup
	$(BIN)/pytest -n 2

# The app in a real headless Chromium (Debian's `chromium` package: apt-get install -y chromium).
# With SCREENSHOT=path.png it also saves a picture of the page (the README's is docs/images/app.png).
test-browser: setup
	RLCRAVING_APP_SCREENSHOT=$(SCREENSHOT) $(BIN)/pytest -m browser -p no:xdist tests/browser

test-slow: setup
	$(BIN)/pytest -n 2 -m slow

validate: setup
	$(BIN)/rlcraving validate --out docs

bench: setup
	$(BIN)/rlcraving bench --out docs

# the worked example of docs/fitting.md: 200 simulated rats in two groups, fitted blind, checked;
# its report, tables and figures (not the data, draws or estimator) are copied to docs/fitting
fit-example: setup
	$(BIN)/python -m rlcraving.fit.example --out results/fit/worked_example
	mkdir -p docs/fitting/figures
	cp results/fit/worked_example/report.md results/fit/worked_example/check.csv \
	   results/fit/worked_example/group_differences.csv results/fit/worked_example/metadata.json docs/fitting/
	cp results/fit/worked_example/figures/*.png docs/fitting/figures/

# the pre-trained PPO shipped with the package (rlcraving/agents/data/ppo_acquisition.*): fixed seed,
# protocol in rlcraving.agents.pretrained.PROTOCOL, recorded beside it; run again when the environment changes
pretrained: setup
	$(BIN)/python -m rlcraving.agents.pretrained

lint: setup
	$(BIN)/ruff check rlcraving tests

clean:
	rm -rf $(VENV) results .pytest_cache
