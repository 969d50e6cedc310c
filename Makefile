# The two set-up commands are `make run` and `make test`; both create .venv when absent.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
export PREFECT_SERVER_ANALYTICS_ENABLED ?= false

.PHONY: run test test-fast docs sample bench slurm-up slurm-down cluster-up cluster-down clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/form3 run data/form_3_10.csv

# The fast tier: no servers, no cluster, under a minute (settings, planning, batching, the
# resubmission loop, checkpoint format, the parser and the SEC layout on the real corpus).
test-fast: $(STAMP)
	$(PY) -m pytest -q -m fast $(PYTEST_ARGS)

# As root (CI, a fresh VM) the Slurm tests get a real single-node cluster, the cross-host
# tests the multi-node one, and the UI tests Debian's Chromium; elsewhere they are skipped
# with the reason (run `sudo make slurm-up cluster-up` and `sudo bash tests/install-browser.sh`
# first to include them).
test: test-fast
	@if [ "$$(id -u)" = 0 ]; then bash deployments/local-slurm/up.sh && bash deployments/multi-node/up.sh && bash tests/install-browser.sh; fi
	$(PY) -m pytest -q -rs -m "not fast" $(PYTEST_ARGS)

# The settings reference (docs/settings.md), generated from flows/settings.py and the cluster
# profile model; the data dictionary from tasks/tables.py.
docs: $(STAMP)
	$(PY) -m flows.settings_docs --write docs/settings.md
	$(PY) docs/make_data_dictionary.py


sample: $(STAMP)
	$(PY) data/make_sample.py

bench: $(STAMP)
	$(PY) benchmarks/parse_bench.py

slurm-up:
	bash deployments/local-slurm/up.sh

slurm-down:
	bash deployments/local-slurm/down.sh

# A login network and 3 compute nodes (network namespaces), see deployments/multi-node/.
cluster-up:
	bash deployments/multi-node/up.sh

cluster-down:
	bash deployments/multi-node/down.sh

clean:
	rm -rf $(VENV) results/*.json results/*.csv results/*.parquet
