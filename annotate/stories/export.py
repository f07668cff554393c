"""Stories and duplicate groups in exports: one snapshot per export, grouped splits, copied labels.

The snapshot (`story_snapshot`) is read once, in one statement, before the first row: a merge
or recompute that commits while the export runs changes nothing in it, so every row, the split
and the job's counts agree on the same story ids.

`document_metadata(row)` is what every writer adds to its document: `story`, `duplicate_group`
and `labels_from` (JSONL keys, CoNLL document comments, DocBin `user_data`).
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field

from django.db.models import BigIntegerField, Value

from annotate.exports.base import SPLIT_NAMES, ExportRow
from annotate.exports.options import GROUP_BY  # noqa: F401  (re-exported)
from annotate.models import Article, ArticleFingerprint, Project, StoryArticle, StorySettings


@dataclass
class StorySnapshot:
    story: dict[int, int] = field(default_factory=dict)          # article id → story id
    representative: dict[int, int] = field(default_factory=dict)  # duplicate → its group's first article
    export_id: dict[int, str] = field(default_factory=dict)      # representatives' export ids
    copy_labels: bool = False

    def group_of(self, article_id: int) -> int | None:
        """The duplicate group (its representative's article id), None for an article alone."""
        rep = self.representative.get(article_id)
        if rep is not None:
            return rep
        return article_id if article_id in self.export_id else None


def story_snapshot(project: Project, copy_labels: bool | None = None) -> StorySnapshot:
    snap = StorySnapshot()
    reps: set[int] = set()
    # Read from the story links and the duplicate fingerprints, not from every article: only the
    # articles in a story or a duplicate group have anything to say, and a project without stories
    # then costs nothing (joining every article to both tables and iterating them took 0.36 s of a
    # 10k-article JSONL export under cProfile, before its first row; 133 ms of server time alone at
    # 50k). One UNION ALL: one statement, one set of story ids.
    null_id = Value(None, output_field=BigIntegerField())
    links = StoryArticle.objects.filter(article__project=project).values_list("article_id", "story_id", null_id)
    duplicates = ArticleFingerprint.objects.filter(
        project=project, article__project=project, duplicate_of__isnull=False).values_list(
        "article_id", null_id, "duplicate_of_id")
    for article_id, story_id, rep in links.union(duplicates, all=True).iterator(chunk_size=5000):
        if story_id is not None:
            snap.story[article_id] = story_id
        if rep is not None:
            snap.representative[article_id] = rep
            reps.add(rep)
    if reps:
        snap.export_id = {pk: ext or str(pk) for pk, ext in
                          Article.objects.filter(pk__in=reps).values_list("pk", "external_id").iterator(chunk_size=5000)}
    snap.copy_labels = (StorySettings.objects.filter(
        project=project, duplicate_policy=StorySettings.DuplicatePolicy.ONE_PER_GROUP).exists()
        if copy_labels is None else copy_labels)
    return snap


def default_group_by(project: Project) -> str | None:
    """`duplicate_group` whenever the project has any near-duplicates, else no grouping."""
    has = ArticleFingerprint.objects.filter(project=project, duplicate_of__isnull=False).exists()
    return "duplicate_group" if has else None


def decorate(rows: list[ExportRow], snap: StorySnapshot, rep_rows) -> None:
    """Set story/duplicate ids; with the one-per-group policy, a duplicate without labels of its
    own takes its representative's document labels (`labels_from`). `rep_rows(ids)` builds the
    representatives' rows. Spans are not copied: their offsets index another text."""
    need: dict[int, list[ExportRow]] = {}
    for row in rows:
        row.story = snap.story.get(row.article_id)
        group = snap.group_of(row.article_id)
        row.duplicate_group = snap.export_id.get(group) if group is not None else None
        rep = snap.representative.get(row.article_id)
        if (snap.copy_labels and rep is not None and row.gold is None and row.doc_labels is None
                and not row.annotations):
            need.setdefault(rep, []).append(row)
    if not need:
        return
    for source in rep_rows(sorted(need)):
        for row in need.get(source.article_id, ()):
            if source.doc_labels is None and source.gold is None and not source.annotations:
                continue
            row.gold, row.doc_labels, row.annotations = source.gold, source.doc_labels, source.annotations
            row.labels_from = source.id


def document_metadata(row: ExportRow) -> dict:
    """The story fields every writer adds to an article's document (None where absent)."""
    return {"story": row.story, "duplicate_group": row.duplicate_group, "labels_from": row.labels_from}


def metadata_comments(row: ExportRow, only_grouped_split: dict | None = None) -> list[str]:
    """`# story = 3` lines for the fields that are set. CoNLL-2003 passes its options: it writes
    them only in an export split by group, since spaCy's `convert -c ner` would read a comment
    line as a token; CoNLL-U readers skip comments."""
    if only_grouped_split is not None and not (only_grouped_split.get("split") or {}).get("group_by"):
        return []
    return [f"# {key} = {value}\n" for key, value in document_metadata(row).items() if value is not None]


class GroupSplitter:
    """train/dev/test by whole groups: no group (story, duplicate group, outlet) straddles two.

    Groups are dealt largest first (ties in seeded order) to the part furthest below its
    target count, which meets the proportions as closely as the group sizes allow.
    """

    def __init__(self, split: dict, keys: dict[int, str]):
        sizes = Counter(keys.values())
        total = sum(sizes.values())
        targets = {name: split[name] * total / 100 for name in SPLIT_NAMES}
        order = sorted(sizes)
        random.Random(f"{split['seed']}:groups").shuffle(order)
        order.sort(key=lambda g: -sizes[g])
        got = dict.fromkeys(SPLIT_NAMES, 0)
        groups = dict.fromkeys(SPLIT_NAMES, 0)
        self.part: dict[str, str] = {}
        for g in order:
            name = max(SPLIT_NAMES, key=lambda n: (targets[n] - got[n], split[n]))
            self.part[g] = name
            got[name] += sizes[g]
            groups[name] += 1
        self.keys = keys
        self.achieved = {name: round(100 * got[name] / total, 2) if total else 0.0 for name in SPLIT_NAMES}
        self.groups = groups

    def __call__(self, article_id: int) -> str:
        return self.part[self.keys[article_id]]


def group_keys(group_by: str, article_ids: list[tuple[int, str]], snap: StorySnapshot) -> dict[int, str]:
    """article id → its group's key; an article outside any group is a group of its own."""
    out: dict[int, str] = {}
    for article_id, source in article_ids:
        if group_by == "story":
            story = snap.story.get(article_id)
            out[article_id] = f"story:{story}" if story is not None else f"article:{article_id}"
        elif group_by == "duplicate_group":
            group = snap.group_of(article_id)
            out[article_id] = f"dup:{group}" if group is not None else f"article:{article_id}"
        else:
            out[article_id] = f"source:{source}" if source else f"article:{article_id}"
    return out
