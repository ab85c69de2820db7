#!/usr/bin/env bash
# Makes sure the local PostgreSQL and Redis the test suite needs are running (starts them if stopped).
set -uo pipefail

pg_up() { pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; }
redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }

if ! pg_up; then
  echo "PostgreSQL is not answering; starting it"
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  fi
  for _ in $(seq 1 30); do pg_up && break; sleep 1; done
  pg_up || { echo "ERROR: PostgreSQL on 127.0.0.1:5432 is not available" >&2; exit 1; }
fi
psql -h 127.0.0.1 -d test -tAc "select 1" >/dev/null 2>&1 || \
  { echo "ERROR: PostgreSQL database 'test' is not reachable with trust auth" >&2; exit 1; }

if ! redis_up; then
  echo "Redis is not answering; starting it"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
  for _ in $(seq 1 20); do redis_up && break; sleep 0.5; done
  redis_up || { echo "ERROR: Redis on 127.0.0.1:6379 is not available" >&2; exit 1; }
fi
