"""Near-duplicates and stories: every write about them, for the import, tasks, REST and commands.

Near-duplicates are found at import (`DuplicateFinder`, used by annotate.services.imports per
written batch): each new article's fingerprint is compared with the LSH band keys of the
project's duplicate-group representatives (annotate.models.DuplicateIndex; only representatives
are banded, so 10k copies of one text cost one set of keys and one candidate each). A candidate whose estimated Jaccard
similarity reaches the project's threshold makes the article a member of its group. Exact
copies (same text hash) are members whatever their length.

Stories are computed by `stories_recompute` (on demand, and after an import that changed
existing articles): articles not in a manual story are grouped by TF-IDF cosine similarity
within the project's date window (annotate.stories.grouping). After an import of only new
articles, `stories_assign_new` (Celery task) attaches them to the automatic stories within
their window, or groups them into new ones, by the same rule, without regrouping the project.
Admin edits (merge, split, rename) and the import's `story` field make a story manual; neither
path changes a manual story or its articles.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass
from itertools import chain

import numpy as np
import psycopg
from django.db import connection, transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from annotate.errors import NotFound, ValidationFailed
from annotate.models import (
    Article,
    ArticleFingerprint,
    Assignment,
    DuplicateIndex,
    Project,
    Story,
    StoryArticle,
    StorySettings,
)
from annotate.services.audit import audit_record
from annotate.stories import fingerprint as fp

logger = logging.getLogger(__name__)

DEFAULTS = {
    "duplicate_threshold": 0.8,
    "duplicate_policy": StorySettings.DuplicatePolicy.ANNOTATE_ALL.value,
    "story_window_days": 7,
    "story_similarity": 0.15,
}
# A new article is checked against at most this many candidate groups (those sharing the most
# band keys with it): a corpus of near-identical texts cannot make one import quadratic.
MAX_CANDIDATES = 8
MAX_REPORTED_DUPLICATES = 1000
FINGERPRINT_TABLE = ArticleFingerprint._meta.db_table
FINGERPRINT_FIELDS = ("article_id", "project_id", "text_hash", "signature", "duplicate_of_id", "similarity", "held")
FINGERPRINT_COLUMNS = FINGERPRINT_FIELDS


def settings_for(project: Project) -> dict:
    row = StorySettings.objects.filter(project=project).first()
    return {k: (getattr(row, k) if row is not None and getattr(row, k) is not None else v)
            for k, v in DEFAULTS.items()}


def story_settings_update(*, project: Project, data: dict, by=None) -> dict:
    """Change the project's settings (only the keys given); 400 naming each bad field."""
    errors: dict[str, list[str]] = {}
    unknown = sorted(set(data) - set(DEFAULTS))
    for key in unknown:
        errors[key] = ["unknown setting"]
    clean: dict = {}
    for key, value in data.items():
        if key in unknown:
            continue
        if value is None:
            clean[key] = None
        elif key in ("duplicate_threshold", "story_similarity"):
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
                errors[key] = ["must be a number above 0 and at most 1"]
            else:
                clean[key] = float(value)
        elif key == "story_window_days":
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 3650:
                errors[key] = ["must be a whole number of days from 0 to 3650"]
            else:
                clean[key] = value
        elif key == "duplicate_policy":
            if value not in StorySettings.DuplicatePolicy.values:
                errors[key] = [f"must be one of {', '.join(StorySettings.DuplicatePolicy.values)}"]
            else:
                clean[key] = value
    if errors:
        first = next(iter(errors))
        raise ValidationFailed(f"Invalid story settings: {first}: {errors[first][0]}", details=errors)
    with transaction.atomic():
        before = settings_for(project)
        row, _ = StorySettings.objects.select_for_update().get_or_create(project=project)
        for key, value in clean.items():
            setattr(row, key, value)
        row.save()
        after = settings_for(project)
        if before["duplicate_policy"] != after["duplicate_policy"]:
            _apply_policy(project, after["duplicate_policy"])
        if before != after:
            audit_record(project=project, by=by, action="stories.settings", obj=project, before=before, after=after)
    return after


def _apply_policy(project: Project, policy: str) -> int:
    """Hold (or release) the duplicates that nobody has started on; returns how many changed."""
    fingerprints = ArticleFingerprint.objects.filter(project=project)
    if policy == StorySettings.DuplicatePolicy.ONE_PER_GROUP:
        started = Assignment.objects.filter(article_id__in=fingerprints.filter(
            duplicate_of__isnull=False).values("article_id")).values("article_id")
        return (fingerprints.filter(duplicate_of__isnull=False, held=False)
                .exclude(article_id__in=started).update(held=True))
    return fingerprints.filter(held=True).update(held=False)


# --- Near-duplicates at import -------------------------------------------------------------


@dataclass
class DuplicateFound:
    article_id: int
    duplicate_of: int
    similarity: float


def _copy_text(value) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, bytes):
        return "\\\\x" + value.hex()
    return str(value)


def _copy(table: str, columns: tuple[str, ...], rows) -> None:
    """COPY rows in (PostgreSQL), as one text block: several times faster than a multi-row
    INSERT from the ORM, or than COPY row by row. Values are ints, floats, bools, None, hex
    strings and bytes: nothing that needs COPY's escaping."""
    _copy_block(table, columns, "".join("\t".join(map(_copy_text, row)) + "\n" for row in rows))


def _copy_block(table: str, columns: tuple[str, ...], block: str) -> None:
    if not block:
        return
    cols = ", ".join(f'"{c}"' for c in columns)
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
        copy.write(block)


def _select(sql: str, values: list, array_type: str = "bigint") -> list[tuple]:
    """`sql` with one `{in}` filter on `values`: one array parameter on PostgreSQL (placeholders
    are parsed in Python, and thousands of them cost more than the query), a list elsewhere."""
    if not values:
        return []
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The array as one literal: psycopg's list adapter costs ~1 µs per element.
            literal = "{" + ",".join(v if isinstance(v, str) else str(int(v)) for v in values) + "}"
            cursor.execute(sql.format(IN=f"= ANY(%s::{array_type}[])"), [literal])
            return cursor.fetchall()
        out: list[tuple] = []
        for i in range(0, len(values), 900):  # SQLite's variable limit
            part = list(values)[i:i + 900]
            cursor.execute(sql.format(IN=f"IN ({', '.join(['%s'] * len(part))})"), part)
            out.extend(cursor.fetchall())
        return out


class DuplicateFinder:
    """Near-duplicate lookup for one import: the project's index is read (and locked) once,
    each written batch is looked up and added, and `save` writes the index back once."""

    def __init__(self, project: Project, config: dict | None = None):
        self.project = project
        config = config or settings_for(project)
        self.threshold = config["duplicate_threshold"]
        self.hold = config["duplicate_policy"] == StorySettings.DuplicatePolicy.ONE_PER_GROUP
        DuplicateIndex.objects.bulk_create([DuplicateIndex(project=project)], ignore_conflicts=True)
        raw_keys, raw_ids = _index_read(project)
        # Sorted (keys, article ids) segments: the stored index, then this import's batches,
        # merged as they grow (each at least twice the next), so lookups search few arrays and
        # the import's new keys cost 16 bytes each, not a Python dict entry.
        self.segments: list[tuple[np.ndarray, np.ndarray]] = []
        stored = (np.frombuffer(raw_keys, dtype="<i8"), np.frombuffer(raw_ids, dtype="<i8"))
        if len(stored[0]):
            self.segments.append(stored)
        self.dirty = False

    def _add(self, keys: np.ndarray, ids: np.ndarray) -> None:
        k = np.asarray(keys, dtype=np.int64)
        i = np.asarray(ids, dtype=np.int64)
        order = np.argsort(k, kind="stable")
        self.segments.append((k[order], i[order]))
        while len(self.segments) >= 2 and len(self.segments[-1][0]) * 2 >= len(self.segments[-2][0]):
            (k2, i2), (k1, i1) = self.segments.pop(), self.segments.pop()
            k, i = np.concatenate((k1, k2)), np.concatenate((i1, i2))
            order = np.argsort(k, kind="stable")
            self.segments.append((k[order], i[order]))
        self.dirty = True

    def _indexed(self, keys: np.ndarray) -> dict[int, list[int]]:
        """key → representatives, for the keys that the index holds."""
        out: dict[int, list[int]] = {}
        if not keys.size:
            return out
        flat = np.unique(keys)
        for seg_keys, seg_ids in self.segments:
            lo = np.searchsorted(seg_keys, flat, side="left")
            hi = np.searchsorted(seg_keys, flat, side="right")
            for j in np.flatnonzero(hi > lo).tolist():
                out.setdefault(int(flat[j]), []).extend(seg_ids[lo[j]:hi[j]].tolist())
        return out

    def forget(self, article_ids: set[int]) -> None:
        """Re-texted articles: their old fingerprint no longer describes them (their keys in the
        index now point to a signature that differs, and are skipped until the next rebuild)."""
        ArticleFingerprint.objects.filter(article_id__in=article_ids).delete()

    def find(self, articles: list[Article], replaced: set[int] | None = None) -> list[DuplicateFound]:
        """Fingerprint freshly written articles and file each under the duplicate group of an
        existing (or earlier in this import) article it near-duplicates.

        Most articles share no band key with the index nor with another article of the batch:
        they are new representatives, settled with numpy for the whole batch. Only the others
        (and texts too short to fingerprint) take the per-article path, in the batch's order."""
        if not articles:
            return []
        if replaced:
            self.forget(replaced)
        project = self.project
        n = len(articles)
        matrix, ok = fp.signatures([a.text for a in articles])
        valid = np.flatnonzero(ok)
        bands = fp.band_keys_many(matrix[valid], project.pk)  # (len(valid), BANDS)
        hits = self._indexed(bands)
        flat = bands.ravel()
        _, inverse, counts = np.unique(flat, return_inverse=True, return_counts=True)
        touched = counts[inverse.ravel()] > 1
        if hits:
            touched |= np.isin(flat, np.fromiter(hits, dtype=np.int64, count=len(hits)))
        slow_valid = touched.reshape(-1, fp.BANDS).any(axis=1)
        slow_mask = ~ok
        slow_mask[valid[slow_valid]] = True
        keys: dict[int, list[int]] = dict(zip(valid[slow_valid].tolist(), bands[slow_valid].tolist(), strict=True))

        # Exact copies of texts too short to fingerprint (a longer copy shares every band key).
        by_hash: dict[str, int] = {}
        short = [a.content_hash for a, good in zip(articles, ok.tolist(), strict=True) if not good]
        for text_hash, article_id, rep in sorted(_select(
                f'SELECT "text_hash", "article_id", "duplicate_of_id" FROM {FINGERPRINT_TABLE} '
                f'WHERE "project_id" = {int(project.pk)} AND "signature" IS NULL AND "text_hash" {{IN}}',
                list(set(short)), "text"), key=lambda r: r[1]):
            by_hash.setdefault(text_hash, rep or article_id)

        candidates_of: dict[int, list[int]] = {}
        wanted: set[int] = set()
        for i, ks in keys.items():
            votes: dict[int, int] = defaultdict(int)
            for k in ks:
                for rep in hits.get(k, ()):
                    votes[rep] += 1
            best = sorted(votes, key=lambda r: (-votes[r], r))[:MAX_CANDIDATES] if votes else []
            candidates_of[i] = best
            wanted.update(best)
        rep_sigs: dict[int, np.ndarray] = {}
        for article_id, raw in _select(f'SELECT "article_id", "signature" FROM {FINGERPRINT_TABLE} '
                                       f'WHERE "article_id" {{IN}}', list(wanted)):
            if raw is not None:
                rep_sigs[article_id] = fp.from_bytes(raw)

        found: list[DuplicateFound] = []
        reps: list[int | None] = [None] * n
        scores: list[float | None] = [None] * n
        local_bands: dict[int, list[int]] = defaultdict(list)  # this batch's new representatives
        for i in np.flatnonzero(slow_mask).tolist():
            article = articles[i]
            pk, sig = article.pk, (matrix[i] if ok[i] else None)
            ks, cands = keys.get(i, []), candidates_of.get(i, [])
            rep, score = None, None
            exact = by_hash.get(article.content_hash) if sig is None else None
            if exact is not None and exact != pk:
                rep, score = exact, 1.0
            elif sig is not None and (cands or local_bands):
                local: dict[int, int] = defaultdict(int)
                for k in ks:
                    for r in local_bands.get(k, ()):
                        local[r] += 1
                pool = cands + sorted(local, key=lambda r: (-local[r], r))[:MAX_CANDIDATES] if local else cands
                for cand in pool:
                    other = rep_sigs.get(cand)
                    if other is None:
                        continue
                    s = fp.similarity(sig, other)
                    if s >= self.threshold and (score is None or s > score):
                        rep, score = cand, s
            if rep is None:
                if sig is None:
                    by_hash.setdefault(article.content_hash, pk)
                else:
                    rep_sigs[pk] = sig
                    for k in ks:
                        local_bands[k].append(pk)
            else:
                score = round(score, 4)
                found.append(DuplicateFound(pk, rep, score))
                reps[i], scores[i] = rep, score
        pks = np.fromiter((a.pk for a in articles), dtype=np.int64, count=n)
        fast = valid[~slow_valid]
        new_keys = [bands[~slow_valid].ravel(), np.array([k for k, ids in local_bands.items() for _ in ids], np.int64)]
        new_ids = [np.repeat(pks[fast], fp.BANDS), np.array([i for ids in local_bands.values() for i in ids], np.int64)]
        if any(len(k) for k in new_keys):
            self._add(np.concatenate(new_keys), np.concatenate(new_ids))
        self._write(articles, matrix, ok, reps, scores)
        return found

    def _write(self, articles: list[Article], matrix: np.ndarray, ok: np.ndarray, reps: list, scores: list) -> None:
        project_id, hold = self.project.pk, self.hold
        good = ok.tolist()
        if connection.vendor == "postgresql":
            # The batch's signatures hex-encoded at once, cut per row (COPY's bytea text form);
            # one f-string per row: the values are ints, hex digits, floats and None (\\N).
            hexed = matrix.astype("<u4").tobytes().hex()
            width = 8 * fp.BINS
            null = "\\N"
            sig_txt = ["\\\\x" + hexed[i * width:(i + 1) * width] if g else null for i, g in enumerate(good)]
            rep_txt = [null if r is None else r for r in reps]
            score_txt = [null if v is None else v for v in scores]
            held_txt = ["t" if hold and r is not None else "f" for r in reps]
            block = "".join(f"{a.pk}\t{project_id}\t{a.content_hash}\t{sig_txt[i]}\t{rep_txt[i]}\t{score_txt[i]}\t"
                            f"{held_txt[i]}\n" for i, a in enumerate(articles))
            _copy_block(FINGERPRINT_TABLE, FINGERPRINT_FIELDS, block)
            return
        ArticleFingerprint.objects.bulk_create(
            [ArticleFingerprint(article_id=a.pk, project_id=project_id, text_hash=a.content_hash,
                                signature=fp.to_bytes(matrix[i]) if good[i] else None, duplicate_of_id=reps[i],
                                similarity=scores[i], held=hold and reps[i] is not None)
             for i, a in enumerate(articles)], batch_size=500)

    def save(self) -> None:
        if not self.dirty:
            return
        keys = np.concatenate([k for k, _ in self.segments])
        ids = np.concatenate([i for _, i in self.segments])
        _index_write(self.project, keys, ids)
        self.dirty = False


INDEX_TABLE = DuplicateIndex._meta.db_table


def _index_read(project: Project) -> tuple[bytes, bytes]:
    """The project's (keys, article ids) bytes, the row locked for this transaction."""
    if connection.vendor == "postgresql":
        # Binary results: Django's client-side cursor would fetch the bytea as hex text (twice
        # the 26 MB a 100k-article index holds) and decode it.
        with connection.cursor() as cursor, psycopg.Cursor(cursor.cursor.connection) as raw:
            raw.execute(f'SELECT "keys", "article_ids" FROM {INDEX_TABLE} WHERE "project_id" = %s FOR UPDATE',
                        [project.pk], binary=True)
            row = raw.fetchone()
        return (bytes(row[0]), bytes(row[1])) if row else (b"", b"")
    row = DuplicateIndex.objects.select_for_update().filter(project=project).values_list("keys", "article_ids").first()
    return (bytes(row[0]), bytes(row[1])) if row else (b"", b"")


def _index_write(project: Project, keys: np.ndarray, ids: np.ndarray) -> None:
    order = np.argsort(keys, kind="stable")
    keys_b = np.ascontiguousarray(keys[order], dtype="<i8").tobytes()
    ids_b = np.ascontiguousarray(ids[order], dtype="<i8").tobytes()
    del order
    if connection.vendor == "postgresql":
        # Server-side binding with binary parameters (%b): Django's client-side binding would
        # quote each array into a hex literal twice its size inside the statement.
        with connection.cursor() as cursor, psycopg.Cursor(cursor.cursor.connection) as raw:
            raw.execute(f'UPDATE {INDEX_TABLE} SET "keys" = %b, "article_ids" = %b, "updated_at" = %s '
                        'WHERE "project_id" = %s', [keys_b, ids_b, timezone.now(), project.pk])
        return
    DuplicateIndex.objects.filter(project=project).update(keys=keys_b, article_ids=ids_b, updated_at=timezone.now())


def duplicate_index_rebuild(*, project: Project) -> int:
    """The index from the stored signatures of the representatives: drops deleted articles'
    keys and those of re-texted ones. Returns how many keys it holds. Signatures are read and
    banded 10k at a time: what stays is the index's own 16 bytes per key."""
    DuplicateIndex.objects.bulk_create([DuplicateIndex(project=project)], ignore_conflicts=True)
    DuplicateIndex.objects.select_for_update().filter(project=project).values_list("pk").first()
    keys: list[np.ndarray] = []
    ids: list[np.ndarray] = []
    chunk_ids: list[int] = []
    chunk_sigs: list = []

    def band() -> None:
        sigs = np.frombuffer(b"".join(chunk_sigs), dtype="<u4").reshape(len(chunk_ids), fp.BINS)
        keys.append(fp.band_keys_many(sigs, project.pk).ravel())
        ids.append(np.repeat(np.array(chunk_ids, dtype=np.int64), fp.BANDS))
        chunk_ids.clear()
        chunk_sigs.clear()

    for article_id, raw in (ArticleFingerprint.objects.filter(project=project, duplicate_of__isnull=True,
                                                              signature__isnull=False)
                            .values_list("article_id", "signature").iterator(chunk_size=5000)):
        chunk_ids.append(article_id)
        chunk_sigs.append(raw)
        if len(chunk_ids) == 10_000:
            band()
    if chunk_ids:
        band()
    if not keys:
        _index_write(project, np.empty(0, np.int64), np.empty(0, np.int64))
        return 0
    all_keys, all_ids = np.concatenate(keys), np.concatenate(ids)
    keys.clear()
    ids.clear()
    _index_write(project, all_keys, all_ids)
    return len(all_keys)


def duplicates_find(*, project: Project, articles: list[Article], config: dict | None = None,
                    replaced: set[int] | None = None) -> list[DuplicateFound]:
    """One-off lookup (a caller outside the import): find, then save the index."""
    finder = DuplicateFinder(project, config)
    found = finder.find(articles, replaced)
    finder.save()
    return found


def duplicate_groups(*, project: Project) -> list[dict]:
    """Every group with more than one article: its representative and members, largest first."""
    members: dict[int, list[tuple[int, float | None, bool]]] = defaultdict(list)
    for article_id, rep, sim, held in (ArticleFingerprint.objects.filter(project=project, duplicate_of__isnull=False)
                                       .order_by("article_id")
                                       .values_list("article_id", "duplicate_of", "similarity", "held")):
        members[rep].append((article_id, sim, held))
    info = {a["id"]: a for a in Article.objects.filter(pk__in=[*members, *(m[0] for ms in members.values() for m in ms)])
            .values("id", "external_id", "title", "source", "published")}
    groups = []
    for rep, ms in members.items():
        groups.append({
            "id": rep, "representative": _article_brief(info.get(rep), rep),
            "size": len(ms) + 1,
            "duplicates": [{**_article_brief(info.get(a), a), "similarity": sim, "held": held} for a, sim, held in ms],
        })
    groups.sort(key=lambda g: (-g["size"], g["id"]))
    return groups


def _article_brief(row: dict | None, article_id: int) -> dict:
    row = row or {}
    return {"article_id": article_id, "id": row.get("external_id") or str(article_id),
            "title": row.get("title") or "", "source": row.get("source") or "",
            "published": row.get("published")}


# --- Stories ---------------------------------------------------------------------------------


def stories_set_from_import(*, project: Project, assignments: list[tuple[int, str]]) -> int:
    """The import's `story` field: article → the manual story keyed by that value (created once)."""
    if not assignments:
        return 0
    keys = sorted({k for _, k in assignments})
    existing = {s.key: s for s in Story.objects.filter(project=project, key__in=keys)}
    missing = [Story(project=project, key=k, name=k, manual=True) for k in keys if k not in existing]
    if missing:
        Story.objects.bulk_create(missing, ignore_conflicts=True)
        existing = {s.key: s for s in Story.objects.filter(project=project, key__in=keys)}
    Story.objects.filter(pk__in=[s.pk for s in existing.values()], manual=False).update(manual=True)
    article_ids = [a for a, _ in assignments]
    StoryArticle.objects.filter(article_id__in=article_ids).delete()
    StoryArticle.objects.bulk_create([StoryArticle(article_id=a, story=existing[k]) for a, k in assignments],
                                     batch_size=1000)
    _drop_empty(project)
    return len(assignments)


def _drop_empty(project: Project) -> int:
    deleted, _ = Story.objects.filter(project=project).annotate(n=Count("links")).filter(n=0).delete()
    return deleted


def _lock_project_stories(project: Project) -> None:
    """Story writes of one project are serialised (recompute vs merge vs split): one row lock."""
    Project.objects.select_for_update().filter(pk=project.pk).values_list("pk").first()


def _ids(qs) -> np.ndarray:
    return np.fromiter(qs.iterator(chunk_size=10_000), dtype=np.int64)


WRITE_GROUPS = 1000  # groups written per round: Story and StoryArticle instances of one round only


def stories_recompute(*, project: Project, by=None) -> dict:
    """Regroup every article that is not in a manual story; returns counts for the caller.

    Memory stays flat in the project's size: the grouping holds a date window of vectors
    (annotate.stories.grouping), and the write below works on numpy arrays of ids, creating
    model instances (and reading titles) one round of WRITE_GROUPS groups at a time."""
    from annotate.stories.grouping import group_articles

    config = settings_for(project)
    started = timezone.now()
    with transaction.atomic():
        duplicate_index_rebuild(project=project)

    def stream():
        # One statement: ids, dates and texts of one snapshot, whatever commits meanwhile; in
        # the order the grouping reads them (undated first, then by date).
        for pk, published, title, text in (Article.objects.filter(project=project)
                                           .exclude(story_link__story__manual=True)
                                           .order_by(F("published").asc(nulls_first=True), "id")
                                           .values_list("id", "published", "title", "text")
                                           .iterator(chunk_size=2000)):
            yield pk, published, f"{title}\n{text}"

    # Grouping takes a while at 100k articles: it runs before the lock, so merges, splits and
    # renames meanwhile do not wait; what they changed is respected below.
    result = group_articles(stream(), window_days=config["story_window_days"],
                            threshold=config["story_similarity"])
    streamed = len(result.ids)
    with transaction.atomic():
        _lock_project_stories(project)
        pinned_now = _ids(StoryArticle.objects.filter(story__project=project, story__manual=True)
                          .values_list("article_id", flat=True))
        alive = _ids(Article.objects.filter(project=project).values_list("id", flat=True))
        keep = np.isin(result.ids, alive) & ~np.isin(result.ids, pinned_now)
        ids, labels = result.ids[keep], result.labels[keep]
        del alive
        # Groups renumbered 0..g-1 in their old order (by smallest article id), empty ones gone.
        _, labels = np.unique(labels, return_inverse=True)
        order = np.argsort(labels, kind="stable")
        ids, labels = ids[order], labels[order]
        sizes = np.bincount(labels) if len(labels) else np.zeros(0, np.int64)
        bounds = np.concatenate(([0], np.cumsum(sizes)))
        n_groups = len(sizes)
        # A new group keeps the id (and so the links people saved) of the old automatic story
        # that most of its articles were in, when no larger group claimed it first.
        previous = StoryArticle.objects.filter(story__project=project, story__manual=False)
        prev = np.fromiter(chain.from_iterable(previous.order_by("article_id").values_list("article_id", "story_id")
                                               .iterator(chunk_size=10_000)), dtype=np.int64).reshape(-1, 2)
        prev_articles, prev_stories = prev[:, 0], prev[:, 1]
        reused = np.full(n_groups, -1, dtype=np.int64)
        if len(prev_articles) and len(ids):
            at = np.minimum(np.searchsorted(prev_articles, ids), len(prev_articles) - 1)
            had = prev_articles[at] == ids
            g, old = labels[had], prev_stories[at[had]]
            pair, votes = np.unique(np.stack((g, old), axis=1), axis=0, return_counts=True)
            # Larger groups first (ties: group order), then their most-voted old story (ties: lowest id).
            rank = np.lexsort((pair[:, 1], -votes, pair[:, 0], -sizes[pair[:, 0]]))
            taken: set[int] = set()
            for group, story_id in pair[rank].tolist():
                if reused[group] < 0 and story_id not in taken:
                    reused[group] = story_id
                    taken.add(story_id)
        del prev, prev_articles, prev_stories
        StoryArticle.objects.filter(story__project=project, story__manual=False).delete()
        Story.objects.filter(project=project, manual=False).exclude(pk__in=reused[reused >= 0].tolist()).delete()
        undated = np.isin(ids, result.undated)
        for first in range(0, n_groups, WRITE_GROUPS):
            last = min(first + WRITE_GROUPS, n_groups)
            lo, hi = int(bounds[first]), int(bounds[last])
            titles = dict(Article.objects.filter(pk__in=ids[lo:hi].tolist()).values_list("id", "title"))
            fresh: list[Story] = []
            renamed: list[Story] = []
            stories: list[Story] = []
            for g in range(first, last):
                name = _story_name([titles.get(a) for a in ids[bounds[g]:bounds[g + 1]].tolist()])
                if reused[g] >= 0:
                    story = Story(pk=int(reused[g]), project=project, name=name)
                    renamed.append(story)
                else:
                    story = Story(project=project, name=name)
                    fresh.append(story)
                stories.append(story)
            Story.objects.bulk_create(fresh, batch_size=1000)
            Story.objects.bulk_update(renamed, ["name"], batch_size=1000)
            story_of = np.repeat(np.array([s.pk for s in stories], dtype=np.int64), sizes[first:last])
            StoryArticle.objects.bulk_create(
                [StoryArticle(article_id=a, story_id=s, undated=u) for a, s, u in
                 zip(ids[lo:hi].tolist(), story_of.tolist(), undated[lo:hi].tolist(), strict=True)],
                batch_size=2000)
    out = {"articles": streamed, "pinned": len(pinned_now), "stories": n_groups,
           "multi_article_stories": int((sizes > 1).sum()),
           "undated": len(result.undated), "seconds": round((timezone.now() - started).total_seconds(), 2)}
    logger.info("stories of %s recomputed by %s: %s", project.slug, by or "system", out)
    return out


def _assign_context(project: Project, new: list[tuple]) -> list[int] | None:
    """The automatic stories a new article could join: those with a member within the date window
    of a new dated article, or an undated member (compared by text alone); None (every automatic
    story) when a new article is undated. Ids, not a subquery: as a subquery of the members'
    query, run through a server-side cursor, PostgreSQL may pick a plan that walks the project."""
    if any(published is None for _, published, _, _ in new):
        return None
    dates = sorted(published for _, published, _, _ in new)
    span = dt.timedelta(days=settings_for(project)["story_window_days"])
    reach = Q(article__published__isnull=True)
    lo, hi = dates[0] - span, dates[0] + span
    for day in dates[1:]:  # the windows of the new articles, overlapping ones joined
        if day - span > hi:
            reach |= Q(article__published__range=(lo, hi))
            lo = day - span
        hi = max(hi, day + span)
    reach |= Q(article__published__range=(lo, hi))
    return sorted(set(StoryArticle.objects.filter(reach, story__project=project, story__manual=False)
                      .values_list("story_id", flat=True)))


def stories_assign_new(*, project: Project, by=None) -> dict:
    """Put the articles that are in no story yet (a fresh import) into stories without regrouping
    the project: each joins an automatic story, or forms a new one, by the full grouping's rule
    (annotate.stories.grouping.assign_new). Manual stories are never touched and never receive
    an article; a full `stories_recompute` stays the reference and may settle margins differently.

    Like the recompute, the grouping runs before the project's story lock; under it, articles
    that meanwhile got a story and stories that meanwhile vanished or became manual are left out."""
    from annotate.stories.grouping import assign_new

    config = settings_for(project)
    started = timezone.now()
    new = list(Article.objects.filter(project=project, story_link__isnull=True)
               .order_by(F("published").asc(nulls_first=True), "id")
               .values_list("id", "published", "title", "text"))
    out = {"articles": len(new), "context": 0, "joined": 0, "new_stories": 0, "merged": 0}
    if not new:
        return {**out, "seconds": 0.0}
    reachable = _assign_context(project, new)
    context = StoryArticle.objects.filter(story__project=project, story__manual=False)
    if reachable is not None:
        context = context.filter(story_id__in=reachable)
    context = (context.order_by("article_id")
               .values_list("article_id", "article__published", "article__title", "article__text", "story_id"))
    counted = {"n": 0}

    def existing():
        for article_id, published, title, text, story_id in context.iterator(chunk_size=2000):
            counted["n"] += 1
            yield article_id, published, f"{title}\n{text}", story_id

    groups = assign_new(existing(), ((a, p, f"{t}\n{x}") for a, p, t, x in new),
                        window_days=config["story_window_days"], threshold=config["story_similarity"])
    out["context"] = counted["n"]
    published = {a: p for a, p, _, _ in new}
    titles = {a: t for a, _, t, _ in new}
    with transaction.atomic():
        _lock_project_stories(project)
        linked = set(StoryArticle.objects.filter(article_id__in=list(published)).values_list("article_id", flat=True))
        alive = set(Story.objects.filter(project=project, manual=False,
                                         pk__in=sorted({s for g in groups for s in g.stories}))
                    .values_list("pk", flat=True))
        links: list[StoryArticle] = []
        fresh: list[tuple[Story, list[int]]] = []
        for group in groups:
            articles = [a for a in group.articles if a not in linked and a in published]
            stories = [s for s in group.stories if s in alive]
            if not articles:
                continue
            if not stories:
                fresh.append((Story(project=project, name=_story_name([titles[a] for a in articles])), articles))
                continue
            # The story keeps its name: the one people have seen in the list and the exports (a
            # re-post headed "REPOST: …" would otherwise rename it as its shortest headline).
            target, others = stories[0], stories[1:]
            if others:  # new articles bridged automatic stories: the group-average rule joined them
                StoryArticle.objects.filter(story_id__in=others).update(story_id=target)
                Story.objects.filter(pk__in=others).delete()
                out["merged"] += len(others)
            out["joined"] += len(articles)
            links.extend(StoryArticle(article_id=a, story_id=target, undated=published[a] is None) for a in articles)
        Story.objects.bulk_create([story for story, _ in fresh], batch_size=1000)
        for story, articles in fresh:
            links.extend(StoryArticle(article_id=a, story_id=story.pk, undated=published[a] is None)
                         for a in articles)
        out["new_stories"] = len(fresh)
        StoryArticle.objects.bulk_create(links, batch_size=2000)
    out["seconds"] = round((timezone.now() - started).total_seconds(), 2)
    logger.info("stories of %s assigned incrementally by %s: %s", project.slug, by or "system", out)
    return out


def _story_name(titles: list[str | None]) -> str:
    named = [t.strip() for t in titles if t and t.strip()]
    return (min(named, key=len) if named else "")[:300]


def _story_of(project: Project, story_id: int, *, lock: bool = False) -> Story:
    qs = Story.objects.filter(project=project, pk=story_id)
    story = (qs.select_for_update() if lock else qs).first()
    if story is None:
        raise NotFound(f"Story {story_id} does not exist in this project.")
    return story


def _snapshot(story: Story) -> dict:
    return {"id": story.pk, "name": story.name, "manual": story.manual,
            "articles": sorted(story.links.values_list("article_id", flat=True))}


def story_rename(*, project: Project, story_id: int, name: str, by=None) -> Story:
    if not isinstance(name, str) or not name.strip() or len(name) > 300:
        raise ValidationFailed("name: must be a non-empty string of at most 300 characters",
                               details={"name": ["must be a non-empty string of at most 300 characters"]})
    with transaction.atomic():
        _lock_project_stories(project)
        story = _story_of(project, story_id, lock=True)
        before = _snapshot(story)
        story.name, story.manual = name.strip(), True
        story.save(update_fields=["name", "manual", "updated_at"])
        audit_record(project=project, by=by, action="story.rename", obj=story,
                     before=before, after=_snapshot(story))
    return story


def _check_ids(ids, *, field: str, minimum: int, what: str) -> None:
    """A JSON list of at least `minimum` integer ids; the error names the element that is not one."""
    if not isinstance(ids, list) or len(ids) < minimum:
        raise ValidationFailed(f"{field}: a list of at least {minimum} {what} id{'s' if minimum > 1 else ''}",
                               details={field: [f"a list of at least {minimum} {what} ids"]})
    bad = [i for i, v in enumerate(ids) if not isinstance(v, int) or isinstance(v, bool)]
    if bad:
        raise ValidationFailed(f"{field}[{bad[0]}]: {ids[bad[0]]!r} is not a {what} id",
                               details={f"{field}[{i}]": [f"{ids[i]!r} is not a {what} id"] for i in bad[:20]})


def story_merge(*, project: Project, story_ids: list[int], name: str | None = None, by=None) -> Story:
    """Merge the stories into the first one (kept, made manual); the others are deleted."""
    _check_ids(story_ids, field="stories", minimum=2, what="story")
    story_ids = list(dict.fromkeys(story_ids))
    with transaction.atomic():
        _lock_project_stories(project)
        stories = [_story_of(project, i, lock=True) for i in story_ids]
        target, others = stories[0], stories[1:]
        before = [_snapshot(s) for s in stories]
        StoryArticle.objects.filter(story__in=others).update(story=target)
        Story.objects.filter(pk__in=[s.pk for s in others]).delete()
        target.manual = True
        if name is not None:
            if not isinstance(name, str) or not name.strip():
                raise ValidationFailed("name: must be a non-empty string", details={"name": ["non-empty string"]})
            target.name = name.strip()[:300]
        target.save(update_fields=["name", "manual", "updated_at"])
        audit_record(project=project, by=by, action="story.merge", obj=target,
                     before={"stories": before}, after=_snapshot(target))
    return target


def story_split(*, project: Project, story_id: int, article_ids: list[int], name: str | None = None,
                by=None) -> Story:
    """Move the given articles of the story into a new manual story (both are then manual)."""
    _check_ids(article_ids, field="articles", minimum=1, what="article")
    with transaction.atomic():
        _lock_project_stories(project)
        story = _story_of(project, story_id, lock=True)
        members = set(story.links.values_list("article_id", flat=True))
        outside = sorted(set(article_ids) - members)
        if outside:
            raise ValidationFailed(f"articles: {outside[:5]} are not in story {story_id}",
                                   details={"articles": [f"article {a} is not in this story" for a in outside[:20]]})
        if set(article_ids) == members:
            raise ValidationFailed("articles: a split must leave at least one article in the story",
                                   details={"articles": ["leave at least one article in the story"]})
        before = _snapshot(story)
        new = Story.objects.create(project=project, manual=True,
                                   name=(name.strip()[:300] if isinstance(name, str) and name.strip()
                                         else f"{story.name} (split)"[:300]))
        StoryArticle.objects.filter(article_id__in=article_ids).update(story=new)
        story.manual = True
        story.save(update_fields=["manual", "updated_at"])
        audit_record(project=project, by=by, action="story.split", obj=story,
                     before=before, after={"kept": _snapshot(story), "new": _snapshot(new)})
    return new


def _send_after_commit(task, project: Project) -> bool:
    """Queue a story task for the project after commit; False when the broker did not take it."""
    from annotate.celery import enqueue

    sent = {"ok": True}

    def send():
        sent["ok"] = enqueue(task, project.pk)

    transaction.on_commit(send)
    return sent["ok"]


def story_recompute_request(*, project: Project, by=None) -> bool:
    """Queue a recompute (after commit); False when the broker did not take it."""
    from annotate.tasks.stories import stories_recompute_task

    return _send_after_commit(stories_recompute_task, project)


def stories_assign_request(*, project: Project, by=None) -> bool:
    """Queue the incremental assignment of the project's new articles (after commit); False when
    the broker did not take it."""
    from annotate.tasks.stories import stories_assign_task

    return _send_after_commit(stories_assign_task, project)
