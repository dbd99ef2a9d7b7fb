# Loa: the two commands are `make run` and `make test`; everything else is optional.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: run test faults screenshot lint typecheck check bench bench-extract bench-publish bench-feeds bench-subscribers bench-bot bench-ingest bench-scale bench-discovery bench-stories clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## make run: install if needed, then start everything on the embedded defaults
run: $(STAMP)
	$(BIN)/loa run

## make test: the whole test suite (uses DATABASE_URL / REDIS_URL when set)
test: $(STAMP)
	$(BIN)/pytest -q

## make faults: every fault-injection scenario (tests/faults), with the table of
## lost / duplicated deliveries and recovery times; `make test` runs the short ones
faults: $(STAMP)
	$(BIN)/pytest -q tests/faults -m faults -p no:randomly

## make screenshot: docs/status.png, the /status page of a demo-like database with 48 h
## of history, rendered by headless Chromium (Debian's chromium, installed if missing)
screenshot: $(STAMP)
	@command -v chromium >/dev/null || \
		(apt-get update -qq && apt-get install -y -qq chromium >/dev/null)
	$(BIN)/python -m tests.ops.status_screenshot docs/status.png

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check config news feeds bot tasks ops loa telegram_emulator worker.py

typecheck: $(STAMP)
	$(BIN)/mypy

check: lint typecheck test

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache

## make bench: every benchmark (extraction, publishing, feed serving); each prints
## ratios against a baseline measured in the same run
bench: bench-extract bench-publish bench-feeds bench-subscribers bench-bot bench-ingest bench-discovery bench-stories

bench-extract: $(STAMP)
	$(BIN)/python bench/extract.py --repeat 3

bench-publish: $(STAMP)
	$(BIN)/python bench/publish.py

## bench-ingest: CMS push (POST /api/articles) to the emulator's channel, real serve + worker
bench-ingest: $(STAMP)
	$(BIN)/python bench/ingest.py

## bench-discovery: `loa add-source` scoring per method and site, a derived profile against
## zero-config (same run), held-out accuracy and derivation time
bench-discovery: $(STAMP)
	$(BIN)/python bench/discovery.py

## bench-stories: story grouping: precision/recall on the labelled pairs, checking a new
## article at 100,000 stored (band index vs every window signature, same run), planning a
## copy for 10,000 readers, and the story views (SQLite, or DATABASE_URL's PostgreSQL)
bench-stories: $(STAMP)
	$(BIN)/python -m bench.stories_quality
	$(BIN)/python bench/stories.py
	$(BIN)/python bench/story_copies.py
	$(BIN)/python bench/story_views.py

## bench-bot: reader commands over 100,000 articles (SQLite, or DATABASE_URL's PostgreSQL)
bench-bot: $(STAMP)
	$(BIN)/python bench/bot.py

## bench-subscribers: one article to 10,000 readers at Telegram's 30/s (about 6 minutes)
bench-subscribers: $(STAMP)
	$(BIN)/python bench/subscribers.py --readers 10000

## bench-scale: 1,000 loopback portals polled every minute by two `loa worker`s and
## `loa beat` (about 13 minutes); needs DATABASE_URL (PostgreSQL) and REDIS_URL
bench-scale: $(STAMP)
	$(BIN)/python bench/scale_poll.py --minutes 5

## bench-feeds compares with nginx and drives load with wrk (Debian packages)
bench-feeds: $(STAMP)
	@command -v nginx >/dev/null && command -v wrk >/dev/null || \
		(apt-get update -qq && apt-get install -y -qq nginx wrk >/dev/null)
	$(BIN)/python bench/feeds.py --seconds 10
