"""Reads about stories: the list, one story's articles, and the outlets compared side by side.

Labels come from the export's row builder (annotate.exports.rows, labels="majority"), so the
compare screen and a dataset say the same: the Gold row, else the submitted annotators'
majority, else nothing. Quotes are the reference spans (gold, else the annotators' majority);
an article nobody has annotated shows its model/import suggestions, marked as such.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict

from django.db.models import Count, Min, Q

from annotate.errors import NotFound
from annotate.exports.base import QUOTE_LABEL
from annotate.exports.options import export_options_validate
from annotate.exports.rows import iter_rows
from annotate.models import Article, Project, Story

MAX_TEXT_CHARS = 20_000
_NAME_NOISE = re.compile(r"[^\w\s'-]+")
_QUOTE_NOISE = re.compile(r"[\W_]+")


def outlet_of(source: str | None, external_id: str | None, article_id: int) -> str:
    """The article's outlet: its source, else (an import without sources) the article itself."""
    return source or f"(no source) {external_id or article_id}"


def stories_list(*, project: Project, min_articles: int = 1, limit: int = 200, offset: int = 0) -> dict:
    qs = (Story.objects.filter(project=project)
          .annotate(articles=Count("links"),
                    sources=Count("links__article__source", distinct=True, filter=~Q(links__article__source="")),
                    unsourced=Count("links", filter=Q(links__article__source="")),
                    undated=Count("links", filter=Q(links__undated=True)),
                    first_published=Min("links__article__published"))
          .filter(articles__gte=min_articles).order_by("-articles", "id"))
    total = qs.count()
    items = [{"id": s.pk, "name": s.name, "manual": s.manual, "key": s.key, "articles": s.articles,
              "outlets": s.sources + s.unsourced, "undated": s.undated, "first_published": s.first_published}
             for s in qs[offset:offset + limit]]
    return {"count": total, "results": items}


def story_get(project: Project, story_id: int) -> Story:
    story = Story.objects.filter(project=project, pk=story_id).first()
    if story is None:
        raise NotFound(f"Story {story_id} does not exist in this project.")
    return story


def story_detail(*, project: Project, story_id: int) -> dict:
    story = story_get(project, story_id)
    articles = []
    for a in (Article.objects.filter(story_link__story=story).order_by("published", "id")
              .values("id", "external_id", "title", "source", "published", "story_link__undated",
                      "fingerprint__duplicate_of_id", "fingerprint__similarity")):
        articles.append({
            "article_id": a["id"], "id": a["external_id"] or str(a["id"]), "title": a["title"],
            "source": a["source"], "outlet": outlet_of(a["source"], a["external_id"], a["id"]),
            "published": a["published"], "undated": a["story_link__undated"],
            "duplicate_of": a["fingerprint__duplicate_of_id"], "similarity": a["fingerprint__similarity"],
        })
    return {"id": story.pk, "name": story.name, "manual": story.manual, "key": story.key,
            "articles": articles}


def _name_tokens(name: str) -> tuple[str, ...]:
    return tuple(_NAME_NOISE.sub(" ", name).casefold().split())


def _link_speakers(names: set[str]) -> dict[str, str]:
    """Speaker name → the name shown for everyone it names: "Putin" and "Vladimir Putin" are one
    person when the shorter name's words end the longer one's (the fullest name is shown)."""
    by_tokens = {n: _name_tokens(n) for n in names if _name_tokens(n)}
    ordered = sorted(by_tokens, key=lambda n: (-len(by_tokens[n]), -len(n), n))
    canonical: dict[str, str] = {}
    for name in ordered:
        toks = by_tokens[name]
        for full in ordered:
            if full == name:
                break
            ft = by_tokens[full]
            if len(ft) > len(toks) and ft[-len(toks):] == toks:
                canonical[name] = canonical.get(full, full)
                break
        canonical.setdefault(name, name)
    return canonical


def _quote_key(text: str) -> str:
    return _QUOTE_NOISE.sub(" ", text.casefold()).strip()


def story_compare(*, project: Project, story_id: int) -> dict:
    """Per outlet: its articles' stance per target and frames, who it quotes, and shared quotes."""
    story = story_get(project, story_id)
    options = export_options_validate({"labels": "majority", "submitted_only": False, "include_suggestions": True},
                                      target_keys=[])
    qs = Article.objects.filter(project=project, story_link__story=story).order_by("id")
    meta = {a["id"]: a for a in qs.values("id", "published", "story_link__undated")}
    targets = {t.key: t.name for t in project.targets.all()}
    articles, quotes = [], []
    for row in iter_rows(project=project, options=options, articles=qs):
        outlet = outlet_of(row.source, row.id if row.id != str(row.article_id) else None, row.article_id)
        labels = row.gold
        quote_spans, quotes_from = row.quotes, row.spans_from
        if not quote_spans and row.suggestions:
            quote_spans, quotes_from = [s for s in row.suggestions if s.label == QUOTE_LABEL], "suggestions"
        article_quotes = []
        for s in quote_spans:
            speaker = s.attrs.get("speaker") if isinstance(s.attrs, dict) else None
            article_quotes.append({"start": s.start, "end": s.end, "text": row.text[s.start:s.end],
                                   "speaker": speaker if isinstance(speaker, str) and speaker.strip() else None,
                                   "kind": s.attrs.get("kind") if isinstance(s.attrs, dict) else None})
        quotes.extend((outlet, row.article_id, q) for q in article_quotes)
        m = meta.get(row.article_id, {})
        articles.append({
            "article_id": row.article_id, "id": row.id, "title": row.title or "", "outlet": outlet,
            "published": row.published, "undated": bool(m.get("story_link__undated")),
            "text": row.text[:MAX_TEXT_CHARS], "truncated": len(row.text) > MAX_TEXT_CHARS,
            "stance": labels["stance"] if labels else {}, "frames": (labels["frames"] or []) if labels else [],
            "primary_frame": labels["primary_frame"] if labels else None,
            "labels_from": labels["method"] if labels else None,
            "quotes": article_quotes, "quotes_from": quotes_from,
        })

    outlets: dict[str, dict] = {}
    for a in articles:
        o = outlets.setdefault(a["outlet"], {"outlet": a["outlet"], "articles": [], "stance": defaultdict(Counter),
                                              "frames": Counter(), "speakers": Counter()})
        o["articles"].append(a["article_id"])
        for key, label in a["stance"].items():
            o["stance"][key][label] += 1
        o["frames"].update(a["frames"])

    canonical = _link_speakers({q["speaker"] for _, _, q in quotes if q["speaker"]})
    speakers: dict[str, dict] = {}
    for outlet, _, q in quotes:
        if not q["speaker"]:
            continue
        name = canonical.get(q["speaker"], q["speaker"])
        q["speaker_canonical"] = name
        outlets[outlet]["speakers"][name] += 1
        entry = speakers.setdefault(name, {"speaker": name, "outlets": Counter(), "aliases": set()})
        entry["outlets"][outlet] += 1
        entry["aliases"].add(q["speaker"])

    shared: dict[str, dict] = {}
    keyed = [(outlet, article_id, q, _quote_key(q["text"])) for outlet, article_id, q in quotes]
    keyed = [k for k in keyed if len(k[3]) >= 12]
    for i, (outlet, article_id, q, key) in enumerate(keyed):
        # The same words quoted by another outlet, whole or as part of a longer quote.
        for other_outlet, other_id, other_q, other_key in keyed[i + 1:]:
            if other_outlet == outlet or not (key in other_key or other_key in key):
                continue
            anchor = key if len(key) <= len(other_key) else other_key
            entry = shared.setdefault(anchor, {"text": q["text"] if anchor == key else other_q["text"],
                                               "speaker": None, "occurrences": {}})
            for o, aid, qq in ((outlet, article_id, q), (other_outlet, other_id, other_q)):
                entry["occurrences"][(o, aid, qq["start"])] = {"outlet": o, "article_id": aid, "start": qq["start"],
                                                               "end": qq["end"]}
                entry["speaker"] = entry["speaker"] or qq.get("speaker_canonical")

    return {
        "id": story.pk, "name": story.name, "manual": story.manual,
        "targets": [{"key": k, "name": v} for k, v in targets.items()],
        "articles": articles,
        "outlets": [{"outlet": o["outlet"], "articles": o["articles"],
                     "stance": {k: dict(v) for k, v in sorted(o["stance"].items())},
                     "frames": dict(o["frames"].most_common()),
                     "speakers": dict(o["speakers"].most_common())} for o in outlets.values()],
        "speakers": sorted(({"speaker": s["speaker"], "outlets": dict(s["outlets"]), "aliases": sorted(s["aliases"]),
                             "outlet_count": len(s["outlets"])} for s in speakers.values()),
                           key=lambda s: (-s["outlet_count"], s["speaker"])),
        "shared_quotes": sorted(({"text": e["text"], "speaker": e["speaker"],
                                  "outlets": sorted({occ["outlet"] for occ in e["occurrences"].values()}),
                                  "occurrences": list(e["occurrences"].values())} for e in shared.values()),
                                key=lambda e: (-len(e["outlets"]), e["text"])),
    }


def stance_by_outlet(*, project: Project, limit: int = 12) -> list[dict]:
    """The dashboard's view: for the largest multi-outlet stories, stance counts per outlet (the
    same labels as story_compare: gold, else the annotators' majority). One pass over the rows of
    all those stories, not a full comparison (texts, quotes, speakers) per story."""
    stories = list(Story.objects.filter(project=project).annotate(n=Count("links")).filter(n__gte=2)
                   .order_by("-n", "id")[:limit])
    if not stories:
        return []
    options = export_options_validate({"labels": "majority", "submitted_only": False}, target_keys=[])
    qs = Article.objects.filter(project=project, story_link__story__in=stories).order_by("id")
    story_of = dict(qs.values_list("id", "story_link__story_id"))
    per_story: dict[int, dict[str, defaultdict]] = {story.pk: {} for story in stories}
    for row in iter_rows(project=project, options=options, articles=qs):
        outlet = outlet_of(row.source, row.id if row.id != str(row.article_id) else None, row.article_id)
        stance = per_story[story_of[row.article_id]].setdefault(outlet, defaultdict(Counter))
        for key, label in (row.gold["stance"] if row.gold else {}).items():
            stance[key][label] += 1
    return [{"id": story.pk, "name": story.name, "articles": story.n,
             "outlets": [{"outlet": outlet, "stance": {k: dict(v) for k, v in sorted(stance.items())}}
                         for outlet, stance in per_story[story.pk].items()]}
            for story in stories]
