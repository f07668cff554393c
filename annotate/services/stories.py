"""Near-duplicates and stories: every write about them, for the import, tasks, REST and commands.

Near-duplicates are found at import (`DuplicateFinder`, used by annotate.services.imports per
written batch): each new article's fingerprint is compared with the LSH band keys of the
project's duplicate-group representatives (annotate.models.DuplicateIndex; only representatives
are banded, so 10k copies of one text cost one set of keys and one candidate each). A candidate whose estimated Jaccard
similarity reaches the project's threshold makes the article a member of its group. Exact
copies (same text hash) are members whatever their length.

Stories are computed by `stories_recompute` (Celery task after each import, and on demand):
articles not in a manual story are grouped by TF-IDF cosine similarity within the project's
date window (annotate.stories.grouping). Admin edits (merge, split, rename) and the import's
`story` field make a story manual; a recompute keeps manual stories and their articles as they are.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from django.db import connection, transaction
from django.db.models import Count
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
    cols = ", ".join(f'"{c}"' for c in columns)
    block = "".join("\t".join(map(_copy_text, row)) + "\n" for row in rows)
    if not block:
        return
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
        row = DuplicateIndex.objects.select_for_update().filter(project=project).first()
        if row is None:
            DuplicateIndex.objects.bulk_create([DuplicateIndex(project=project)], ignore_conflicts=True)
            row = DuplicateIndex.objects.select_for_update().get(project=project)
        # Sorted (keys, article ids) segments: the stored index, then this import's batches,
        # merged as they grow (each at least twice the next), so lookups search few arrays and
        # the import's new keys cost 16 bytes each, not a Python dict entry.
        self.segments: list[tuple[np.ndarray, np.ndarray]] = []
        stored = (np.frombuffer(bytes(row.keys), dtype="<i8"), np.frombuffer(bytes(row.article_ids), dtype="<i8"))
        if len(stored[0]):
            self.segments.append(stored)
        self.dirty = False

    def _add(self, keys: list[int], ids: list[int]) -> None:
        k = np.array(keys, dtype=np.int64)
        i = np.array(ids, dtype=np.int64)
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
        existing (or earlier in this import) article it near-duplicates."""
        if not articles:
            return []
        if replaced:
            self.forget(replaced)
        project = self.project
        matrix, ok = fp.signatures([a.text for a in articles])
        sigs = [row if good else None for row, good in zip(matrix, ok.tolist(), strict=True)]
        valid = np.flatnonzero(ok)
        keys: list[list[int]] = [[] for _ in articles]
        hits: dict[int, list[int]] = {}
        if len(valid):
            bands = fp.band_keys_many(matrix[valid], project.pk)
            hits = self._indexed(bands)
            for i, row in zip(valid.tolist(), bands.tolist(), strict=True):
                keys[i] = row
        # Exact copies of texts too short to fingerprint (a longer copy shares every band key).
        by_hash: dict[str, int] = {}
        short = [a.content_hash for a, sig in zip(articles, sigs, strict=True) if sig is None]
        for text_hash, article_id, rep in sorted(_select(
                f'SELECT "text_hash", "article_id", "duplicate_of_id" FROM {FINGERPRINT_TABLE} '
                f'WHERE "project_id" = {int(project.pk)} AND "signature" IS NULL AND "text_hash" {{IN}}',
                list(set(short)), "text"), key=lambda r: r[1]):
            by_hash.setdefault(text_hash, rep or article_id)

        pks = [a.pk for a in articles]
        candidates_of: list[list[int]] = []
        wanted: set[int] = set()
        for ks in keys:
            counts: dict[int, int] = defaultdict(int)
            for k in ks:
                for rep in hits.get(k, ()):
                    counts[rep] += 1
            best = sorted(counts, key=lambda r: (-counts[r], r))[:MAX_CANDIDATES] if counts else []
            candidates_of.append(best)
            wanted.update(best)
        rep_sigs: dict[int, np.ndarray] = {}
        for article_id, raw in _select(f'SELECT "article_id", "signature" FROM {FINGERPRINT_TABLE} '
                                       f'WHERE "article_id" {{IN}}', list(wanted)):
            if raw is not None:
                rep_sigs[article_id] = fp.from_bytes(raw)

        found: list[DuplicateFound] = []
        rows: list[tuple] = []
        local_bands: dict[int, list[int]] = defaultdict(list)  # this batch's new representatives
        for pk, article, sig, ks, cands in zip(pks, articles, sigs, keys, candidates_of, strict=True):
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
            rows.append((pk, project.pk, article.content_hash,
                         fp.to_bytes(sig) if sig is not None else None, rep, score, self.hold and rep is not None))
        if local_bands:
            self._add([k for k, ids in local_bands.items() for _ in ids],
                      [i for ids in local_bands.values() for i in ids])
        if connection.vendor == "postgresql":
            _copy(FINGERPRINT_TABLE, FINGERPRINT_FIELDS, rows)
        else:
            ArticleFingerprint.objects.bulk_create(
                [ArticleFingerprint(**dict(zip(FINGERPRINT_FIELDS, r, strict=True))) for r in rows], batch_size=500)
        return found

    def save(self) -> None:
        if not self.dirty:
            return
        keys = np.concatenate([k for k, _ in self.segments])
        ids = np.concatenate([i for _, i in self.segments])
        _index_write(self.project, keys, ids)
        self.dirty = False


def _index_write(project: Project, keys: np.ndarray, ids: np.ndarray) -> None:
    order = np.argsort(keys, kind="stable")
    DuplicateIndex.objects.filter(project=project).update(
        keys=keys[order].astype("<i8").tobytes(), article_ids=ids[order].astype("<i8").tobytes(),
        updated_at=timezone.now())


def duplicate_index_rebuild(*, project: Project) -> int:
    """The index from the stored signatures of the representatives: drops deleted articles'
    keys and those of re-texted ones. Returns how many keys it holds."""
    DuplicateIndex.objects.bulk_create([DuplicateIndex(project=project)], ignore_conflicts=True)
    DuplicateIndex.objects.select_for_update().filter(project=project).first()
    ids, sigs = [], []
    for article_id, raw in (ArticleFingerprint.objects.filter(project=project, duplicate_of__isnull=True,
                                                              signature__isnull=False)
                            .values_list("article_id", "signature").iterator(chunk_size=5000)):
        ids.append(article_id)
        sigs.append(fp.from_bytes(raw))
    if not ids:
        _index_write(project, np.empty(0, np.int64), np.empty(0, np.int64))
        return 0
    keys = np.concatenate([fp.band_keys_many(np.stack(sigs[i:i + 10_000]), project.pk).ravel()
                           for i in range(0, len(sigs), 10_000)])
    _index_write(project, keys, np.repeat(np.array(ids, dtype=np.int64), fp.BANDS))
    return len(keys)


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


def stories_recompute(*, project: Project, by=None) -> dict:
    """Regroup every article that is not in a manual story; returns counts for the caller."""
    from annotate.stories.grouping import group_articles

    config = settings_for(project)
    started = timezone.now()
    with transaction.atomic():
        duplicate_index_rebuild(project=project)
    titles: dict[int, str] = {}

    def stream():
        # One statement: ids, dates and texts of one snapshot, whatever commits meanwhile.
        for pk, published, title, text in (Article.objects.filter(project=project)
                                           .exclude(story_link__story__manual=True).order_by("id")
                                           .values_list("id", "published", "title", "text")
                                           .iterator(chunk_size=2000)):
            titles[pk] = title
            yield pk, published, f"{title}\n{text}"

    # Grouping takes minutes at 100k articles: it runs before the lock, so merges, splits and
    # renames meanwhile do not wait; what they changed is respected below.
    result = group_articles(stream(), window_days=config["story_window_days"],
                            threshold=config["story_similarity"])
    rows = titles
    with transaction.atomic():
        _lock_project_stories(project)
        pinned_now = set(StoryArticle.objects.filter(story__project=project, story__manual=True)
                         .values_list("article_id", flat=True))
        alive = set(Article.objects.filter(project=project).values_list("id", flat=True))
        groups = [[a for a in g if a not in pinned_now and a in alive] for g in result.groups]
        result.groups = [g for g in groups if g]
        pinned = len(pinned_now)
        # A new group keeps the id (and so the links people saved) of the old automatic story
        # that most of its articles were in, when no larger group claimed it first.
        previous = dict(StoryArticle.objects.filter(story__project=project, story__manual=False)
                        .values_list("article_id", "story_id").iterator(chunk_size=5000))
        reused: dict[int, int] = {}  # group index → old story id
        taken: set[int] = set()
        for g in sorted(range(len(result.groups)), key=lambda i: -len(result.groups[i])):
            votes: dict[int, int] = defaultdict(int)
            for a in result.groups[g]:
                old = previous.get(a)
                if old is not None:
                    votes[old] += 1
            for old in sorted(votes, key=lambda o: (-votes[o], o)):
                if old not in taken:
                    reused[g] = old
                    taken.add(old)
                    break
        StoryArticle.objects.filter(story__project=project, story__manual=False).delete()
        Story.objects.filter(project=project, manual=False).exclude(pk__in=taken).delete()
        stories: list[Story] = []
        fresh: list[Story] = []
        renamed: list[Story] = []
        for g, group in enumerate(result.groups):
            name = _story_name([titles.get(a) for a in group])
            if g in reused:
                story = Story(pk=reused[g], project=project, name=name)
                renamed.append(story)
            else:
                story = Story(project=project, name=name)
                fresh.append(story)
            stories.append(story)
        Story.objects.bulk_create(fresh, batch_size=1000)
        Story.objects.bulk_update(renamed, ["name"], batch_size=1000)
        undated = result.undated
        StoryArticle.objects.bulk_create(
            [StoryArticle(article_id=a, story=story, undated=a in undated)
             for story, group in zip(stories, result.groups, strict=True) for a in group],
            batch_size=2000)
    out = {"articles": len(rows), "pinned": pinned, "stories": len(result.groups),
           "multi_article_stories": sum(1 for g in result.groups if len(g) > 1),
           "undated": len(result.undated), "seconds": round((timezone.now() - started).total_seconds(), 2)}
    logger.info("stories of %s recomputed by %s: %s", project.slug, by or "system", out)
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


def story_recompute_request(*, project: Project, by=None) -> bool:
    """Queue a recompute (after commit); False when the broker did not take it."""
    from annotate.celery import enqueue
    from annotate.tasks.stories import stories_recompute_task

    sent = {"ok": True}

    def send():
        sent["ok"] = enqueue(stories_recompute_task, project.pk)

    transaction.on_commit(send)
    return sent["ok"]
