#!/usr/bin/env bash
# The whole suite: lint, Rasa data validation, unit tests, Rasa test conversations, end-to-end and
# browser tests on the embedded defaults (SQLite), then everything that touches a database again on
# PostgreSQL with Redis as Rasa's lock store.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
export RASA_TELEMETRY_ENABLED=false
PG_URL=${TEST_POSTGRES_URL:-postgresql://root@127.0.0.1:5432/test}
REDIS=${TEST_REDIS_URL:-redis://127.0.0.1:6379/1}

bash scripts/ensure_services.sh
bash scripts/ensure_chromium.sh

echo "== lint (ruff)"
$PY -m ruff check .
$PY -m ruff format --check .

echo "== model (trained only when config, domain or data changed)"
$PY -m bot.rasa.training

echo "== editors' check on the project's own data (report: reports/editor/index.html)"
$PY -m bot.editor check --report reports/editor

# The editors' whole loop (tests/editor/test_publish_e2e.py) trains a second model on a copy of
# the project: about 20 of the suite's minutes, mostly on one core, while the rest of the suite
# keeps one core busy too (docs/benchmarks.md, "make test"). It runs beside the two passes, on
# SQLite, in a temporary folder of its own; its output follows theirs.
PUBLISH_TEST=tests/editor/test_publish_e2e.py
PUBLISH_DIR=$(mktemp -d)
env -u DATABASE_URL -u REDIS_URL -u RASA_TRACKER_URL $PY -m pytest -p no:cacheprovider -m "not rasa_check" \
    --basetemp="$PUBLISH_DIR/tmp" "$PUBLISH_TEST" > "$PUBLISH_DIR/output" 2>&1 &
PUBLISH_PID=$!
trap 'kill "$PUBLISH_PID" 2>/dev/null || true' EXIT
failed=0

echo "== suite on SQLite (embedded defaults; the editors' publish loop runs beside it)"
# The editors' check above already ran `rasa data validate`, the held-out evaluation and the test
# conversations: the tests that run the same again (marked rasa_check) are left out here, so each
# runs once per `make test`. On their own they still run: pytest -m rasa_check.
env -u DATABASE_URL -u REDIS_URL -u RASA_TRACKER_URL $PY -m pytest -p no:cacheprovider -m "not rasa_check" \
    --ignore="$PUBLISH_TEST" || failed=1

echo "== suite on PostgreSQL + Redis (everything that touches a database or Rasa's stores)"
# Only the tests marked db (tests/conftest.py marks every test with a database fixture, and the
# rest by hand): the others do not depend on the database engine and ran above.
DATABASE_URL="$PG_URL" REDIS_URL="$REDIS" $PY -m pytest -p no:cacheprovider -m "db and not rasa" || failed=1

echo "== the editors' publish loop on SQLite ($PUBLISH_TEST)"
wait "$PUBLISH_PID" || failed=1
trap - EXIT
cat "$PUBLISH_DIR/output"
rm -rf "$PUBLISH_DIR"
exit "$failed"
