# The two commands: `make run` and `make test`. Everything else supports them.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint system-deps messages bench bench-deps bench-needs bench-swaps clean

run: $(VENV)/.installed
	$(BIN)/nuanxin run

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

# Debian's chromium drives the browser tests; fonts-noto-cjk renders the Chinese;
# gettext compiles the translations; mosquitto (the broker binary) runs the ACL test's
# private broker with the shipped configuration. On a busy machine another apt (e.g.
# unattended-upgrades) may hold apt's locks: wait up to 10 minutes instead of failing.
# `install` waits by itself (DPkg::Lock::Timeout); `update` ignores that option, so it is
# retried while it reports the lock, and only then.
system-deps:
	@if ! command -v chromium >/dev/null || ! command -v msgfmt >/dev/null \
			|| ! dpkg -s fonts-noto-cjk >/dev/null 2>&1 \
			|| ! test -x /usr/sbin/mosquitto; then \
		for try in $$(seq 60); do \
			apt-get update -qq 2>&1 | tee /dev/stderr | grep -q "Could not get lock" || break; \
			echo "apt is busy in another process: waiting for its lock ..."; sleep 10; \
		done; \
		DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
			chromium chromium-driver fonts-noto-cjk gettext mosquitto >/dev/null; \
	fi

# ruff, the import layers, then the house rules ruff cannot know (scripts/house_rules.py:
# region scoping only through common.scoping, model writes only in services, a battery
# moved only by custody).
lint: $(VENV)/.installed-test
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/lint-imports
	$(BIN)/python scripts/house_rules.py

test: $(VENV)/.installed-test system-deps lint
	$(BIN)/nuanxin compilemessages --ignore=.venv -v0
	$(BIN)/pytest $(PYTEST_ARGS)

messages: $(VENV)/.installed
	cd src/nuanxin && ../../$(BIN)/nuanxin makemessages -l en --no-obsolete
	$(BIN)/nuanxin compilemessages --ignore=.venv

# Needs a province-scale database first: `$(BIN)/nuanxin seed --scale province` on an empty
# one (DATABASE_URL selects PostgreSQL). BENCH_ARGS, e.g. "--concurrency 16 --rounds 5".
# BENCH_ARGS "--scale 220000" adds copies of the stations first. On PostgreSQL the bench
# measures a PostGIS baseline beside nearby: Debian's postgresql-15-postgis-3 on the database
# server's machine (this one), installed when missing; `make test` never needs it.
bench: $(VENV)/.installed bench-deps
	$(BIN)/python bench/nearby.py $(BENCH_ARGS)

bench-deps:
	@case "$$DATABASE_URL" in postgres*) \
		dpkg -s postgresql-15-postgis-3 >/dev/null 2>&1 || { \
			apt-get -o DPkg::Lock::Timeout=900 update -qq && DEBIAN_FRONTEND=noninteractive \
			apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends \
				postgresql-15-postgis-3 >/dev/null; } ;; \
	esac

bench-needs: $(VENV)/.installed-test
	$(BIN)/python bench/needs.py $(BENCH_ARGS)

# Starts its own Mosquitto (Debian's mosquitto) on a free port and a scratch database.
bench-swaps: $(VENV)/.installed-test
	$(BIN)/python bench/swaps.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var
