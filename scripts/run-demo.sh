#!/usr/bin/env bash
# Starts the web server and, when Redis answers, a Celery worker and celery beat (the periodic
# sweeps), each restarted if it dies; Ctrl-C stops everything. Without Redis, background tasks and
# the sweeps run inside the web process.
set -euo pipefail
PY=${PY:-.venv/bin/python}
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
VAR_DIR=${STANDPOINT_VAR_DIR:-var}
RESTART_DELAY=${RESTART_DELAY:-2}
mkdir -p "$VAR_DIR"
pids=()

# Run a command again whenever it exits (a worker killed by the OOM killer, a beat that lost
# Redis for too long), after a short pause so a command that cannot start does not spin.
supervise() {
  local name=$1; shift
  (
    trap 'kill "$child" 2>/dev/null; wait "$child" 2>/dev/null; exit 0' INT TERM
    while true; do
      "$@" &
      child=$!
      wait "$child" && status=0 || status=$?
      echo "$name exited (status $status); restarting in ${RESTART_DELAY}s" >&2
      sleep "$RESTART_DELAY"
    done
  ) &
  pids+=($!)
}

stop_all() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}

if "$PY" -c "from annotate.celery import broker_reachable; import os, sys; sys.exit(0 if broker_reachable(os.environ.get('REDIS_URL', 'redis://127.0.0.1:6379/0')) else 1)"; then
  supervise worker "$PY" -m celery -A annotate worker -Q default,preannotate,exports,train -c 2 -l INFO
  supervise beat "$PY" -m celery -A annotate beat -l INFO --schedule "$VAR_DIR/celerybeat-schedule"
  trap stop_all EXIT INT TERM
else
  echo "No Redis answers: background tasks and the periodic sweeps will run inside the web process."
fi
echo "Standpoint: http://$HOST:$PORT/  (admin: http://$HOST:$PORT/admin/, API docs: http://$HOST:$PORT/api/docs/)"
"$PY" manage.py runserver "$HOST:$PORT" --noreload
