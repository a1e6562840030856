# Two commands on a fresh machine with only Python 3.11+: `make demo` and `make test` (durations: docs/results.md,
# "How long it takes").
# Each creates .venv and installs what it needs (stamp files skip work already done).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
OUT ?= demo-out
PYBKT_VENV := .venv-pybkt
OBP_VENV := .venv-obp

.PHONY: demo test test-hostile bench lint clean pybkt-venv obp-venv

$(VENV)/.created:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	touch $@

$(VENV)/.installed: $(VENV)/.created pyproject.toml
	$(PIP) install --quiet -e ".[peers,dev,fast,service,privacy,scale]"
	touch $@

# pyBKT (the knowledge-tracing peer) needs numpy < 2, so it gets its own environment (~30 s, ~390 MB);
# scikit-learn >= 1.8 and pandas 3 break pyBKT 1.4.3's import
$(PYBKT_VENV)/.installed:
	$(PYTHON) -m venv $(PYBKT_VENV)
	$(PYBKT_VENV)/bin/pip install --quiet --upgrade pip
	$(PYBKT_VENV)/bin/pip install --quiet "numpy<2" "pandas<3" "scikit-learn<1.8" "pyBKT==1.4.3"
	touch $@

pybkt-venv: $(PYBKT_VENV)/.installed

# obp (the off-policy evaluation peer, tests/test_obp_check.py) imports torch, so it gets its own environment
# (~40 s, ~1.6 GB of which torch is 750 MB): torch==2.13.0 resolves to the local CPU wheel (+cpu, no CUDA
# packages); obp 0.4.1 goes in with --no-deps so that pip never re-resolves what is installed above
$(OBP_VENV)/.installed:
	$(PYTHON) -m venv $(OBP_VENV)
	$(OBP_VENV)/bin/pip install --quiet --upgrade pip
	$(OBP_VENV)/bin/pip install --quiet numpy scipy pandas scikit-learn matplotlib seaborn tqdm pyyaml \
		mypy-extensions pyarrow
	$(OBP_VENV)/bin/pip install --quiet "torch==2.13.0"
	$(OBP_VENV)/bin/pip install --quiet --no-deps "obp==0.4.1"
	touch $@

obp-venv: $(OBP_VENV)/.installed

# the service tests run against a real PostgreSQL server: Debian's package, installed when missing
$(VENV)/.postgresql: $(VENV)/.created
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql; \
	fi
	touch $@

# the dashboard test drives a real browser: Debian's chromium (playwright cannot download its own here)
$(VENV)/.chromium: $(VENV)/.created
	@if ! command -v chromium >/dev/null 2>&1; then \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium; \
	fi
	touch $@

demo: $(VENV)/.installed
	$(VENV)/bin/warmstart demo --out $(OUT)

test: $(VENV)/.installed $(PYBKT_VENV)/.installed $(OBP_VENV)/.installed $(VENV)/.postgresql $(VENV)/.chromium
	$(PY) -m pytest -p no:cacheprovider -n 2  # two workers (pytest-xdist): how long, docs/results.md ("How long it takes")

# the numerical-safety target (docs/numerical-safety.md): 2,000 hypothesis examples of hostile requests per
# backend (about 4,000 requests each on SQLite and PostgreSQL), tallies in test-output/hostile.jsonl (how long:
# docs/results.md, "How long it takes")
test-hostile: $(VENV)/.installed $(VENV)/.postgresql
	mkdir -p test-output && rm -f test-output/hostile.jsonl
	WARMSTART_HYPOTHESIS_EXAMPLES=2000 WARMSTART_HYPOTHESIS_REPORT=$(CURDIR)/test-output/hostile.jsonl \
		$(PY) -m pytest -p no:cacheprovider tests/service/test_hostile_values.py tests/test_cli_hostile.py
	cat test-output/hostile.jsonl

# the full benchmarks behind the results tables (docs/results.md, headline rows in the README); how long each step
# takes: docs/results.md, "How long it takes" (run_all.sh records the durations and update_readme.py writes them there)
bench: $(VENV)/.installed $(PYBKT_VENV)/.installed $(OBP_VENV)/.installed $(VENV)/.postgresql
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH bash benchmarks/run_all.sh benchmarks/results

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check src tests benchmarks

clean:
	rm -rf $(VENV) $(PYBKT_VENV) $(OBP_VENV) $(OUT) build *.egg-info src/*.egg-info
