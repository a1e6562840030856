# Two commands on a fresh machine with only Python 3.11+: `make demo` and `make test`.
# Each creates .venv and installs what it needs (stamp files skip work already done).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
OUT ?= demo-out

.PHONY: demo test bench lint clean

$(VENV)/.created:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	touch $@

$(VENV)/.installed: $(VENV)/.created pyproject.toml
	$(PIP) install --quiet -e ".[peers,dev,fast]"
	touch $@

demo: $(VENV)/.installed
	$(VENV)/bin/warmstart demo --out $(OUT)

test: $(VENV)/.installed
	$(PY) -m pytest -p no:cacheprovider

# the full benchmarks behind the README's results table (about 20-30 minutes on 2 cores)
bench: $(VENV)/.installed
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH bash benchmarks/run_all.sh benchmarks/results

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check src tests benchmarks

clean:
	rm -rf $(VENV) $(OUT) build *.egg-info src/*.egg-info
