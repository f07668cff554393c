"""Hand-written SQL for the API's hot paths: token auth, the role check, the task queue, autosave
and submit.

Why not the ORM there: compiling and materialising a query costs the ORM 0.5–2 ms of CPU
(select_related over three tables: 2 ms), against 0.1–0.3 ms for the same statement written
out; on `next`, autosave and submit that was most of each request (tests/benchmarks/
bench_api.py). These statements are built from the models' own metadata (table, columns,
converters), run unchanged on PostgreSQL and SQLite, and give back real model instances built the way the
ORM builds them (Model.from_db after the same database converters), so callers cannot tell the
difference. On PostgreSQL each fixed-shape statement is prepared once per connection
(server-side binding): PostgreSQL then neither parses nor plans it again, which more than halved
the database's CPU per API call (tests/benchmarks/bench_api.py). Django turns psycopg's prepared
statements off for every connection (for the sake of connection poolers); `fetch` turns them on
for its own statements only, unless settings.DATABASE_PREPARED_STATEMENTS is off.

Everything else keeps using the ORM: only add a statement here for a measured hot path.
"""

from __future__ import annotations

import json
import operator
import time
from collections.abc import Sequence
from typing import Any

import orjson
import psycopg
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import Model
from psycopg.pq import ExecStatus


class Columns:
    """The SELECT list for every concrete field of `model` under a table alias, and how to turn
    that slice of a result row into a model instance."""

    def __init__(self, model: type[Model], alias: str):
        self.model = model
        self.alias = alias
        self.fields = list(model._meta.concrete_fields)
        self.attnames = [f.attname for f in self.fields]
        self.sql = ", ".join(f'{alias}."{f.column}"' for f in self.fields)
        self.width = len(self.fields)
        self.pk_index = next(i for i, f in enumerate(self.fields) if f.primary_key)
        self._converters: dict[str, list] = {}

    def _converters_for(self, conn) -> list:
        found = self._converters.get(conn.vendor)
        if found is None:
            found = []
            for i, field in enumerate(self.fields):
                col = field.get_col(self.alias)
                convs = conn.ops.get_db_converters(col) + col.get_db_converters(conn)
                if convs:
                    found.append((i, col, convs))
            self._converters[conn.vendor] = found
        return found

    def load(self, row: Sequence[Any], offset: int = 0) -> Model | None:
        """The instance in row[offset:offset + width]; None when its primary key is NULL (the
        unmatched side of a LEFT JOIN)."""
        values = list(row[offset:offset + self.width])
        if values[self.pk_index] is None:
            return None
        conn = connections[DEFAULT_DB_ALIAS]  # once: each use of the `connection` proxy is a thread-local lookup
        for i, col, convs in self._converters_for(conn):
            value = values[i]
            for convert in convs:
                value = convert(value, col, conn)
            values[i] = value
        return self.model.from_db(conn.alias, self.attnames, values)


# psycopg prepares a statement when asked to (prepare=True) or once it has run this many times on
# a connection: never, in practice. So only `fetch`'s statements are prepared; Django's own cursors
# bind on the client side and are never prepared anyway.
_ONLY_WHEN_ASKED = 1 << 30


def fetch(sql: str, params: Sequence[Any] = (), *, prepare: bool = True) -> list[tuple]:
    """Run one statement on the default connection (inside the caller's transaction, if any)
    and return its rows ([] for statements without a result). `prepare=False` for a statement
    whose text varies with its input (VALUES lists of any length): preparing costs one round
    trip more the first time, and a connection keeps at most 100 prepared statements."""
    conn = connections[DEFAULT_DB_ALIAS]  # once: each use of the `connection` proxy is a thread-local lookup
    if conn.vendor != "postgresql":
        with conn.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall() if cursor.description else []
    # What connection.cursor() does first, then a server-binding cursor instead of Django's
    # client-binding one: only that kind can use prepared statements.
    conn.close_if_health_check_failed()
    conn.ensure_connection()
    pg = conn.connection
    prepare = prepare and settings.DATABASE_PREPARED_STATEMENTS
    if prepare and pg.prepare_threshold is None:
        pg.prepare_threshold = _ONLY_WHEN_ASKED
    start = time.monotonic()
    with conn.wrap_database_errors, psycopg.Cursor(pg) as cursor:
        cursor.execute(sql, params, prepare=prepare)
        # (not `cursor.description`: it builds a Column object per column on every call)
        rows = cursor.fetchall() if cursor.pgresult.status == ExecStatus.TUPLES_OK else []
    if conn.queries_logged:  # DEBUG and the tests' query counters see these statements too
        conn.queries_log.append({"sql": f"{sql} -- {list(params)!r}", "time": f"{time.monotonic() - start:.3f}"})
    return rows


def fetch_one(sql: str, params: Sequence[Any] = (), *, prepare: bool = True) -> tuple | None:
    rows = fetch(sql, params, prepare=prepare)
    return rows[0] if rows else None


def for_update(of: str, *, skip_locked: bool = False) -> str:
    """The row-lock clause on PostgreSQL; '' on SQLite, whose callers take the database write
    lock first (annotate.services.queue.lock_rows)."""
    if not connection.features.has_select_for_update:
        return ""
    return f" FOR UPDATE OF {of}" + (" SKIP LOCKED" if skip_locked else "")


def db_datetime(value):
    """A datetime as a statement parameter, as the ORM would pass it (SQLite stores naive UTC text)."""
    return connection.ops.adapt_datetimefield_value(value)


def quoted(values: Sequence[str]) -> str:
    """An SQL list of string constants, for fixed sets such as statuses (never user input)."""
    texts = [str(getattr(v, "value", v)) for v in values]
    assert all("'" not in t for t in texts)
    return ", ".join(f"'{t}'" for t in texts)


def _update_sql(instance: Model, fields: Sequence[str], expect: tuple[str, Any] | None = None) -> tuple[str, list]:
    meta = instance._meta
    model_fields = [meta.get_field(name) for name in fields]
    sets = ", ".join(f'"{f.column}" = %s' for f in model_fields)
    sql, params = (f'UPDATE {meta.db_table} SET {sets} WHERE "{meta.pk.column}" = %s',
                   [*db_values(instance, model_fields, add=False), instance.pk])
    if expect is not None:
        name, value = expect
        sql += f' AND "{meta.get_field(name).column}" = %s'
        params.append(value)
    return sql, params


def save_fields(instance: Model, fields: Sequence[str], *also: tuple[Model, Sequence[str]],
                insert: Sequence[Model] = (), expect: tuple[str, Any] | None = None) -> bool:
    """`instance.save(update_fields=fields)` as one UPDATE by primary key, without the ORM's
    per-save machinery (no signals are sent: nothing in Standpoint listens to these models).
    `auto_now` fields among `fields` get the current time, as save() would give them.
    `also`: more (instance, fields) pairs; `insert`: new rows of one model (as `insert_many`).
    On PostgreSQL all of it is one statement (data-modifying CTEs: one round trip); on SQLite
    one statement each: the inserts first, then the updates (a guarded update before all).

    `expect=(field, value)`: `instance`'s row is updated only if `field` still holds `value`
    (optimistic locking: the check is part of the write itself). Returns False when it did not:
    then the other writes may have happened all the same (PostgreSQL runs every part of the
    statement), so the caller must roll the transaction back, e.g. by raising. True otherwise."""
    guarded = expect is not None
    own = _update_sql(instance, fields, expect)
    statements = [_update_sql(i, f) for i, f in also]
    if connection.vendor != "postgresql" or (not statements and not insert):
        if guarded and not fetch(own[0] + ' RETURNING 1', own[1]):
            return False
        insert_many(insert)
        if not guarded:
            fetch(*own)
        for sql, params in statements:
            fetch(sql, params)
        return True
    # The row of `instance` is the outer UPDATE: what it returns says whether the guard held.
    ctes, params = [], []
    if insert:
        sql, insert_params = _insert_many_sql(insert)
        ctes.append(f"i AS ({sql})")
        params += insert_params
    for n, (sql, update_params) in enumerate(statements):
        ctes.append(f"u{n} AS ({sql})")
        params += update_params
    returning = f' RETURNING (SELECT ARRAY_AGG(i."{insert[0]._meta.pk.column}") FROM i)' if insert else " RETURNING 1"
    row = fetch_one(f"WITH {', '.join(ctes)} {own[0]}{returning}", params + own[1], prepare=len(insert) <= 1)
    if row is None:
        return False
    if insert:
        _set_ids(insert, row[0])
    return True


def insert(instance: Model) -> Model:
    """`instance.save()` of a new row as one INSERT … RETURNING its id, without the ORM's
    per-save machinery (no signals: nothing in Standpoint listens to these models). Defaults
    and `auto_now(_add)` values are filled in on the instance as save() would."""
    insert_many([instance])
    return instance


def _insert_many_sql(instances: Sequence[Model]) -> tuple[str, list]:
    meta = instances[0]._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    params = [p for obj in instances for p in db_values(obj, fields, add=True)]
    return (f'INSERT INTO {meta.db_table} ({column_list(fields)}) VALUES {", ".join([row] * len(instances))} '
            f'RETURNING "{meta.pk.column}"'), params


def _set_ids(instances: Sequence[Model], ids: Sequence[int]) -> None:
    """Ids in the order of the VALUES rows, as bulk_create relies on too."""
    alias = connections[DEFAULT_DB_ALIAS].alias
    for obj, pk in zip(instances, ids, strict=True):
        obj.pk = pk
        obj._state.adding = False
        obj._state.db = alias


def insert_many(instances: Sequence[Model]) -> None:
    """`bulk_create` of new rows of one model as one INSERT … RETURNING their ids (set on the
    instances), without the ORM's machinery."""
    if instances:
        sql, params = _insert_many_sql(instances)
        _set_ids(instances, [pk for (pk,) in fetch(sql, params, prepare=len(instances) == 1)])


# Field types whose attribute value is already what PostgreSQL's COPY takes (psycopg adapts it):
# `copy_insert` skips their get_db_prep_save, which was most of an import's client CPU.
_COPY_AS_IS = {"AutoField", "BigAutoField", "CharField", "TextField", "IntegerField", "PositiveIntegerField",
               "BigIntegerField", "SmallIntegerField", "PositiveSmallIntegerField", "BooleanField", "FloatField",
               "ForeignKey", "OneToOneField", "SlugField", "EmailField", "URLField"}


def _json_text(value) -> str | None:
    if value is None:
        return None
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # what orjson refuses (non-string keys, integers over 64 bits): the stdlib's
        return json.dumps(value)


def _aware_or_prepared(field, value):
    if value is None or getattr(value, "tzinfo", None) is not None:
        return value
    return field.get_db_prep_save(value, connections[DEFAULT_DB_ALIAS])


def _copy_getters(fields) -> list:
    getters = []
    for f in fields:
        kind = f.get_internal_type()
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            getters.append(lambda obj, f=f: f.pre_save(obj, add=True))
        elif kind == "JSONField" and f.encoder is None:
            getters.append(lambda obj, a=f.attname: _json_text(getattr(obj, a)))
        elif kind == "DateTimeField":  # a naive datetime gets the ORM's conversion (and warning)
            getters.append(lambda obj, f=f: _aware_or_prepared(f, getattr(obj, f.attname)))
        elif kind in _COPY_AS_IS:
            getters.append(operator.attrgetter(f.attname))
        else:
            conn = connections[DEFAULT_DB_ALIAS]
            getters.append(lambda obj, f=f, conn=conn: f.get_db_prep_save(f.pre_save(obj, add=True), conn))
    return getters


def copy_insert(instances: Sequence[Model]) -> None:
    """`bulk_create(instances)` of new rows of one model; on PostgreSQL with COPY, ids taken from
    the table's sequence first (COPY returns none) and set on the instances in order.

    Why: an import of 20k news articles (bench_stories.py's corpus, with fingerprints) took
    8.1-8.5 s with bulk_create — Django 5.2's INSERT … UNNEST, whose arrays psycopg quotes in
    Python, after a get_db_prep_save per field: ~40% of the client's CPU — and 5.8-5.9 s with
    this. Defaults and auto_now(_add) values are filled in as bulk_create fills them; no signals
    are sent (bulk_create sends none either)."""
    if not instances:
        return
    conn = connections[DEFAULT_DB_ALIAS]
    model = type(instances[0])
    if conn.vendor != "postgresql":
        model.objects.bulk_create(instances)
        return
    meta = model._meta
    fields = list(meta.concrete_fields)
    getters = _copy_getters(fields)
    with conn.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                       [meta.db_table, meta.pk.column, len(instances)])
        _set_ids(instances, sorted(pk for (pk,) in cursor.fetchall()))
        with cursor.cursor.copy(f"COPY {meta.db_table} ({column_list(fields)}) FROM STDIN") as copy:
            for obj in instances:
                copy.write_row([get(obj) for get in getters])


def db_values(instance: Model, fields, *, add: bool) -> list:
    """The statement parameters for `fields` of `instance`, as save() would write them
    (`auto_now(_add)` filled in, values adapted to the database)."""
    conn = connections[DEFAULT_DB_ALIAS]
    return [f.get_db_prep_save(f.pre_save(instance, add=add), conn) for f in fields]


def column_list(fields) -> str:
    return ", ".join(f'"{f.column}"' for f in fields)


def insert_with_child(parent: Model, child: Model, fk: str) -> None:
    """Insert a new `parent` and a new `child` whose foreign key `fk` points to it, like
    `insert(parent)` then `insert(child)`: on PostgreSQL in one statement (a data-modifying
    CTE, one round trip), on SQLite one after the other."""
    conn = connections[DEFAULT_DB_ALIAS]
    if conn.vendor != "postgresql":
        insert(parent)
        setattr(child, fk, parent)
        insert(child)
        return
    pmeta, cmeta = parent._meta, child._meta
    link = cmeta.get_field(fk)
    pfields = [f for f in pmeta.concrete_fields if not f.primary_key]
    cfields = [f for f in cmeta.concrete_fields if not f.primary_key and f is not link]
    params = db_values(parent, pfields, add=True) + db_values(child, cfields, add=True)
    row = fetch_one(
        f'WITH p AS (INSERT INTO {pmeta.db_table} ({column_list(pfields)}) '
        f'VALUES ({", ".join(["%s"] * len(pfields))}) RETURNING "{pmeta.pk.column}") '
        f'INSERT INTO {cmeta.db_table} ("{link.column}", {column_list(cfields)}) '
        f'SELECT p."{pmeta.pk.column}", {", ".join(["%s"] * len(cfields))} FROM p '
        f'RETURNING "{link.column}", "{cmeta.pk.column}"', params)
    parent.pk, child.pk = row
    setattr(child, fk, parent)
    for obj in (parent, child):
        obj._state.adding = False
        obj._state.db = conn.alias
