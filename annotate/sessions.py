"""SESSION_ENGINE: Django's database sessions, read with one prepared statement (annotate.hotsql)
instead of the ORM. Every request of the web UI, its API calls included, reads its session; the
ORM's get() cost ~0.5 ms of CPU of that (tests/benchmarks/bench_api.py --auth session). Same
table, same rules: an unknown or expired key reads as an empty session and loses its key."""

from __future__ import annotations

from django.contrib.sessions.backends import db
from django.utils import timezone

from annotate.hotsql import db_datetime, fetch_one


class SessionStore(db.SessionStore):
    def load(self):
        row = fetch_one(f'SELECT "session_data" FROM {self.model._meta.db_table} '
                        f'WHERE "session_key" = %s AND "expire_date" > %s',
                        [self.session_key, db_datetime(timezone.now())])
        if row is None:
            self._session_key = None  # as db.SessionStore: the next save creates a new key
            return {}
        return self.decode(row[0])
