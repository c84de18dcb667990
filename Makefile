# One task runner: `make run` starts the portal, `make test` runs every check CI runs.
# Both install what they need into .venv first, so they work on a fresh clone.
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)

.PHONY: install browser fronts run superuser test lint format messages bench clean

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(PY) || "$$(scripts/python.sh)" -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)

# End-to-end tests drive Debian's Chromium (Playwright's own browser download fails here).
browser:
	@test -x /usr/bin/chromium || scripts/install-chromium.sh

# The fronts that buffer request bodies in the shipped layouts: nginx (the image) and Caddy
# (compose), run by the slow-client tests and bench.
fronts:
	@test -x /usr/sbin/nginx -a -x /usr/bin/caddy || scripts/install-fronts.sh

run: install
	scripts/run-local.sh

# The first staff account, on the database `make run` uses.
superuser: install
	DEBUG=$${DEBUG:-1} $(PY) manage.py createsuperuser $(ARGS)

test: install browser fronts
	scripts/test.sh

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# The Malay and Indonesian catalogues from the code, the portal's and each provider's own.
messages: install
	scripts/messages.sh

bench: install browser fronts
	@command -v wrk >/dev/null || scripts/install-wrk.sh
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) staticfiles artifacts .pytest_cache .ruff_cache
