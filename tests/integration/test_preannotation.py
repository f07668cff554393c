"""annotate.services.preannotation (tasks in-process): spans in the database, idempotent,
human/import spans untouched, per-article failures, run progress; and the two commands."""

import json

import pytest
from django.core.management import call_command

from annotate.models import Article, PreannotationRun, Span
from annotate.nlp.loading import get_pipeline
from annotate.services import preannotation as service
from annotate.services.preannotation import preannotation_queue
from tests.factories import AnnotationFactory, ArticleFactory, ProjectFactory, SpanFactory

pytestmark = pytest.mark.django_db

TEXT = ("Kremlin spokesman Dmitry Peskov spoke in Moscow on Friday.\n\n"
        "“You cannot guarantee the security of one country by undermining another,” Peskov said.")


def run_queue(django_capture_on_commit_callbacks, **kwargs):
    with django_capture_on_commit_callbacks(execute=True):
        return preannotation_queue(**kwargs)


def test_queue_writes_entity_quote_and_speaker_suggestions(django_capture_on_commit_callbacks):
    article = ArticleFactory(text=TEXT)
    run = run_queue(django_capture_on_commit_callbacks, project=article.project)
    article.refresh_from_db()
    run.refresh_from_db()
    assert article.preannotation_status == Article.Preannotation.DONE
    assert (run.status, run.total, run.processed, run.failed, run.chunks_done) == ("done", 1, 1, 0, 1)
    pipeline = get_pipeline()
    spans = list(Span.objects.filter(article=article))
    assert all(s.origin == "model" and s.annotation_id is None and s.gold_id is None for s in spans)
    assert all((s.model_name, s.model_version) == (pipeline.name, pipeline.version) for s in spans)
    [quote] = [s for s in spans if s.label == "QUOTE"]
    assert TEXT[quote.start : quote.end].startswith("“You cannot") and TEXT[quote.end - 1] == "”"
    assert quote.attrs["kind"] == "direct" and quote.attrs["speaker"] == "Dmitry Peskov"
    [speaker] = [s for s in spans if s.label == "SPEAKER"]
    assert (speaker.start, speaker.end) == (quote.attrs["speaker_span"]["start"], quote.attrs["speaker_span"]["end"])
    if pipeline.trained:
        assert any(s.label == "PERSON" and TEXT[s.start : s.end] == "Dmitry Peskov" for s in spans)


def test_rerun_replaces_only_the_models_own_suggestions(django_capture_on_commit_callbacks):
    article = ArticleFactory(text=TEXT)
    project = article.project
    run_queue(django_capture_on_commit_callbacks, project=project)
    first = sorted(Span.objects.filter(article=article).values_list("start", "end", "label"))
    human = SpanFactory(article=article, annotation=AnnotationFactory(assignment__article=article),
                        origin=Span.Origin.HUMAN, start=0, end=7, label="ORG")
    imported = SpanFactory(article=article, origin=Span.Origin.IMPORT, start=18, end=31, label="PERSON")

    assert run_queue(django_capture_on_commit_callbacks, project=project) is None  # nothing pending
    run_queue(django_capture_on_commit_callbacks, project=project, force=True)

    model = sorted(Span.objects.filter(article=article, origin="model").values_list("start", "end", "label"))
    assert model == first  # same suggestions, not doubled
    assert Span.objects.filter(pk__in=[human.pk, imported.pk]).count() == 2


def test_a_bad_article_is_recorded_and_the_others_are_done(django_capture_on_commit_callbacks, monkeypatch):
    project = ProjectFactory()
    good = ArticleFactory(project=project, text=TEXT)
    empty = ArticleFactory(project=project, text="   \n ")
    run = run_queue(django_capture_on_commit_callbacks, project=project)
    good.refresh_from_db()
    empty.refresh_from_db()
    run.refresh_from_db()
    assert good.preannotation_status == "done"
    assert empty.preannotation_status == "failed" and "empty text" in empty.preannotation_error
    assert (run.status, run.processed, run.failed) == ("done", 2, 1)


def test_articles_are_queued_in_chunks(django_capture_on_commit_callbacks, monkeypatch):
    monkeypatch.setattr(service, "CHUNK_SIZE", 2)
    project = ProjectFactory()
    ArticleFactory.create_batch(5, project=project, text="Plain text without quotes.")
    sent = []
    monkeypatch.setattr("annotate.tasks.preannotation.preannotate_chunk.apply_async",
                        lambda args=(), kwargs=None, **options: sent.append(kwargs["article_ids"]))
    run = run_queue(django_capture_on_commit_callbacks, project=project)
    assert run.chunks_total == 3 and [len(c) for c in sent] == [2, 2, 1]


def test_preannotate_command(django_capture_on_commit_callbacks, capsys):
    article = ArticleFactory(text=TEXT)
    with django_capture_on_commit_callbacks(execute=True):  # the test's transaction never commits
        call_command("preannotate", "--project", article.project.slug)
    article.refresh_from_db()
    assert article.preannotation_status == "done"
    assert PreannotationRun.objects.get(project=article.project).status == "done"
    call_command("preannotate", "--project", article.project.slug)
    assert "Nothing to pre-annotate" in capsys.readouterr().out


def test_preannotate_file_command(tmp_path):
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    rows = [{"id": "a1", "text": TEXT}, {"id": "a2", "text": ""}, {"text": "No quotes here. 🌍"}]
    src.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    call_command("preannotate_file", str(src), str(out))
    got = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [g["id"] for g in got] == ["a1", "a2", "line-3"]
    [q] = got[0]["quotes"]
    assert TEXT[q["start"] : q["end"]] == q["text"]
    assert set(q) == {"start", "end", "text", "kind", "speaker", "speaker_span"}
    assert got[1]["error"] and got[2]["quotes"] == []
