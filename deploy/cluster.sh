#!/usr/bin/env bash
# `make cluster` / `make cluster-stop`: two gunicorn instances of the API (two workers each)
# on PostgreSQL and Redis, behind a caching nginx, and two webhook delivery workers, all on
# loopback. Every process it starts is
# recorded under $HTCONTENT_CLUSTER_DIR and stopped by `stop`; nothing else is touched.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
STATE=${HTCONTENT_CLUSTER_DIR:-$PWD/instance/cluster}
export DATABASE_URL=${HTCONTENT_CLUSTER_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/htcontent_cluster}
export REDIS_URL=${HTCONTENT_CLUSTER_REDIS_URL:-redis://127.0.0.1:6379/1}
PROXY_PORT=${HTCONTENT_CLUSTER_PORT:-8100}
API_PORTS=${HTCONTENT_CLUSTER_API_PORTS:-"8101 8102"}
export HTCONTENT_WORKERS=${HTCONTENT_WORKERS:-2}
export HTCONTENT_PROXY_COUNT=1
export HTCONTENT_CACHE_MAX_AGE=${HTCONTENT_CACHE_MAX_AGE:-60}

log() { echo "cluster: $*" >&2; }

wait_for() {  # url, seconds
  for _ in $(seq 1 $(( $2 * 5 ))); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.2
  done
  log "no answer from $1"; return 1
}

start() {
  mkdir -p "$STATE"
  if [ -e "$STATE/nginx.pid" ] || ls "$STATE"/api-*.pid "$STATE"/webhooks-*.pid >/dev/null 2>&1; then
    log "already running (state in $STATE); run: make cluster-stop"; exit 1
  fi
  # Webhook secrets are encrypted with one key shared by every process (made once per state).
  if [ -z "${HTCONTENT_SECRET_KEY:-}" ]; then
    [ -s "$STATE/secret.key" ] || (umask 077; head -c 32 /dev/urandom | base64 > "$STATE/secret.key")
    HTCONTENT_SECRET_KEY=$(cat "$STATE/secret.key")
  fi
  export HTCONTENT_SECRET_KEY
  log "database $DATABASE_URL"
  "$BIN/python" - <<'PY'
import os
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
url = make_url(os.environ["DATABASE_URL"]).set(drivername="postgresql+psycopg")
admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
with admin.connect() as connection:
    exists = connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                               {"n": url.database})
    if not exists:
        connection.execute(text(f'CREATE DATABASE "{url.database}"'))
admin.dispose()
PY
  "$BIN/flask" --app api db upgrade
  "$BIN/flask" --app api seed --quiet
  upstreams=""
  n=0
  for port in $API_PORTS; do
    n=$((n + 1))
    mkdir -p "$STATE/metrics-$n"
    rm -f "$STATE/metrics-$n"/*
    PROMETHEUS_MULTIPROC_DIR="$STATE/metrics-$n" HTCONTENT_BIND="127.0.0.1:$port" \
      "$BIN/gunicorn" -c gunicorn.conf.py --daemon --pid "$STATE/api-$n.pid" \
      --error-logfile "$STATE/api-$n.log" --capture-output
    upstreams+="        server 127.0.0.1:$port max_fails=1 fail_timeout=2s;"$'\n'
    log "api instance $n on 127.0.0.1:$port"
  done
  for port in $API_PORTS; do wait_for "http://127.0.0.1:$port/readyz" 30; done
  for n in 1 2; do  # webhook workers: they share the work through row locks (SKIP LOCKED)
    PROMETHEUS_MULTIPROC_DIR="$STATE/metrics-1" setsid "$BIN/flask" --app api webhooks work \
      >>"$STATE/webhooks-$n.log" 2>&1 < /dev/null &
    echo $! > "$STATE/webhooks-$n.pid"
    log "webhook worker $n (pid $(cat "$STATE/webhooks-$n.pid"))"
  done
  mkdir -p "$STATE"/nginx-{body,proxy,fastcgi,uwsgi,scgi,cache}
  # Started as root, nginx would run its workers as nobody, who may not reach a private state
  # directory; the workers run as the user who started the cluster instead.
  user_line=""
  [ "$(id -u)" = 0 ] && user_line="user root;"
  sed -e "s#__STATE__#$STATE#g" -e "s#__PORT__#$PROXY_PORT#g" -e "s#__USER__#$user_line#" \
      deploy/nginx-cluster.conf.template \
    | awk -v ups="$upstreams" '{ if ($0 == "__UPSTREAMS__") printf "%s", ups; else print }' \
    > "$STATE/nginx.conf"
  nginx -t -q -c "$STATE/nginx.conf" -p "$STATE"
  nginx -c "$STATE/nginx.conf" -p "$STATE"
  wait_for "http://127.0.0.1:$PROXY_PORT/healthz" 15
  log "proxy on http://127.0.0.1:$PROXY_PORT (state and logs in $STATE)"
}

stop() {
  local stopped=0
  if [ -e "$STATE/nginx.pid" ]; then
    nginx -c "$STATE/nginx.conf" -p "$STATE" -s quit 2>/dev/null || kill "$(cat "$STATE/nginx.pid")" 2>/dev/null || true
    for _ in $(seq 1 50); do [ -e "$STATE/nginx.pid" ] || break; sleep 0.1; done
    rm -f "$STATE/nginx.pid"; stopped=$((stopped + 1))
  fi
  for pidfile in "$STATE"/api-*.pid "$STATE"/webhooks-*.pid; do
    [ -e "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 250); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$pidfile"; stopped=$((stopped + 1))
  done
  log "stopped $stopped process group(s)"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
