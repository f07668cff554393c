#!/usr/bin/env bash
# Starts a Celery worker (when Redis answers) and the web server; Ctrl-C stops both.
set -euo pipefail
PY=${PY:-.venv/bin/python}
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
worker_pid=""
if "$PY" -c "from annotate.celery import broker_reachable; import os, sys; sys.exit(0 if broker_reachable(os.environ.get('REDIS_URL', 'redis://127.0.0.1:6379/0')) else 1)"; then
  "$PY" -m celery -A annotate worker -Q default,preannotate,exports -c 2 -l INFO &
  worker_pid=$!
  trap 'kill $worker_pid 2>/dev/null; wait $worker_pid 2>/dev/null' EXIT INT TERM
else
  echo "No Redis answers: background tasks will run inside the web process."
fi
echo "Standpoint: http://$HOST:$PORT/  (admin: http://$HOST:$PORT/admin/, API docs: http://$HOST:$PORT/api/docs/)"
"$PY" manage.py runserver "$HOST:$PORT" --noreload
