"""Issue 18: the stored token layer, read by the token exports.

The reference (tests/fixtures/tokens/reference.json.gz) was written by the writers of before the
layer (spaCy re-run by every export): demo seed articles, the Wikinews fixtures and edge texts
(emoji, flags, ZWJ families, combining marks, CRLF, unusual spaces).
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import conllu
import pytest
import spacy
from django.core.management import call_command
from spacy.tokens import DocBin

from annotate.exports import tokens as export_tokens
from annotate.models import PreannotationRun, Span, TokenLayerRow, text_hash
from annotate.nlp.graphemes import inside_positions
from annotate.nlp.token_layer import decode
from annotate.services.preannotation import preannotation_process_chunk
from tests.factories import ArticleFactory, ProjectFactory

from .data import run_export

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
REFERENCE = json.loads(gzip.decompress((FIXTURES / "tokens/reference.json.gz").read_bytes()))
# The old tokenizer split these texts inside grapheme clusters (flags, ZWJ sequences): point 6
# changes their tokens on purpose; every other text must come out exactly as before.
SPLIT_BEFORE = {"edge-flags", "edge-family", "edge-mixed"}
ALL = {"submitted_only": False}


def _project_with(texts: list[tuple[str, str]], slug: str = "tok"):
    project = ProjectFactory(slug=slug)
    articles = [ArticleFactory(project=project, external_id=key, text=text) for key, text in texts]
    return project, articles


def _preannotate(project, articles) -> dict:
    run = PreannotationRun.objects.create(project=project, total=len(articles), chunks_total=1)
    return preannotation_process_chunk(run_id=run.pk, article_ids=[a.pk for a in articles], force=True)


def _conll_docs(text: str) -> list[str]:
    return [chunk for chunk in text.split("-DOCSTART- -X- O O\n\n") if chunk]


def _conllu_docs(text: str) -> dict[str, str]:
    out = {}
    for chunk in text.split("# newdoc id = ")[1:]:
        key, _, rest = chunk.partition("\n")
        out[key] = rest
    return out


def _no_pipeline(monkeypatch):
    def refuse(*a, **k):
        raise AssertionError("the export loaded a spaCy pipeline although every article has a layer")

    monkeypatch.setattr(export_tokens, "analyse_texts", refuse)


def _check_against_reference(project, monkeypatch=None):
    ids = [a["id"] for a in REFERENCE["articles"]]
    job, path = run_export(project, "conll2003", **ALL)
    old = _conll_docs(REFERENCE["files"]["conll2003.v1"])
    new = _conll_docs(path.read_text(encoding="utf-8"))
    assert len(new) == len(old) == len(ids)
    for key, a, b in zip(ids, old, new, strict=True):
        if key in SPLIT_BEFORE:
            assert a != b
            assert not [f for f in b.splitlines() if f and f.split(" ")[0] in ("🇺", "🇦", "\u200d")]
        else:
            assert a == b, key
    job_u, path_u = run_export(project, "conllu", **ALL)
    text_u = path_u.read_text(encoding="utf-8")
    assert text_u.startswith(f"# pipeline = {job_u.nlp_pipeline}\n# newdoc id = ")
    # The reference predates label provenance (issue 14): its files have no `# spans_from` comment.
    old_u = _conllu_docs(REFERENCE["files"]["conllu.v1"])
    new_u = {key: "".join(line for line in doc.splitlines(keepends=True) if not line.startswith("# spans_from = "))
             for key, doc in _conllu_docs(text_u).items()}
    assert list(new_u) == ids
    for key in ids:
        if key not in SPLIT_BEFORE:
            assert new_u[key] == old_u[key], key
    assert len(conllu.parse(text_u)) == text_u.count("# sent_id = ")
    job_d, path_d = run_export(project, "spacy", **ALL)
    docs = list(DocBin().from_disk(path_d).get_docs(spacy.blank("en").vocab))
    for doc, ref in zip(docs, REFERENCE["articles"], strict=True):
        assert doc.user_data["id"] == ref["id"] and doc.text == ref["text"]
        assert doc.user_data["pipeline"] == job_d.nlp_pipeline
        if ref["id"] in SPLIT_BEFORE:
            continue
        assert [t.text for t in doc] == ref["words"]
        assert [bool(t.whitespace_) for t in doc] == ref["spaces"]
        assert [t.tag_ for t in doc] == ref["tags"] and [t.pos_ for t in doc] == ref["pos"]
        assert [str(t.morph) for t in doc] == ref["morphs"]
        assert [int(t.is_sent_start) for t in doc] == ref["sent_starts"]
    return job, job_u, job_d


def test_token_exports_match_the_writers_of_before_from_stored_layers_and_on_the_fly(monkeypatch):
    project, articles = _project_with([(a["id"], a["text"]) for a in REFERENCE["articles"]])
    # Never pre-annotated: every article analysed on the fly, and counted.
    for job in _check_against_reference(project):
        assert job.counts["analysed_on_export"] == len(articles) == job.counts["layer_missing"]
        assert job.nlp_pipeline.endswith("/tokens.v1")
    # Pre-annotated: the layers are stored, the exports load no pipeline and give the same files.
    result = _preannotate(project, articles)
    assert result["token_layers"] == len(articles)
    # The suggestions would add labels (and join sentences a span crosses): only tokens compared here.
    Span.objects.filter(article__project=project).delete()
    assert TokenLayerRow.objects.filter(article__project=project).count() == len(articles)
    _no_pipeline(monkeypatch)
    for job in _check_against_reference(project):
        assert job.counts["analysed_on_export"] == 0


def test_stored_layer_is_compact_on_the_wikinews_fixtures():
    records = [json.loads(line) for line in (FIXTURES / "wikinews/articles.jsonl").read_text().splitlines()]
    project, articles = _project_with([(r["id"], r["text"]) for r in records])
    _preannotate(project, articles)
    stored = sum(len(bytes(d)) for d in TokenLayerRow.objects.values_list("data", flat=True))
    text_bytes = sum(len(r["text"].encode("utf-8")) for r in records)
    assert stored <= 1.5 * text_bytes


BAD_TEXTS = [("good", "Olaf Scholz met Emmanuel Macron in Berlin on Monday. They talked."),
             ("other", "Kyiv said 🇺🇦 talks went on. Nobody left early, officials added.")]


def _with_bad_layer(damage):
    project, articles = _project_with(BAD_TEXTS, slug="bad")
    clean_job, clean = run_export(project, "conllu", **ALL)
    _preannotate(project, articles)
    Span.objects.filter(article__project=project).delete()  # labels are not what is compared
    row = TokenLayerRow.objects.get(article=articles[1])
    damage(row, articles)
    row.save()
    job, path = run_export(project, "conllu", **ALL)
    assert path.read_bytes() == clean.read_bytes()  # never wrong tokens
    assert job.counts["analysed_on_export"] == 1
    return job


def test_truncated_layer_is_reanalysed_and_counted():
    def cut(row, _):
        row.data = bytes(row.data)[: len(bytes(row.data)) // 2]

    assert _with_bad_layer(cut).counts["layer_corrupt"] == 1


def test_corrupt_layer_is_reanalysed_and_counted():
    def flip(row, _):
        data = bytearray(bytes(row.data))
        data[-5] ^= 0xFF
        row.data = bytes(data)

    assert _with_bad_layer(flip).counts["layer_corrupt"] == 1


def test_layer_of_another_text_is_reanalysed_and_counted():
    def swap(row, articles):
        good = TokenLayerRow.objects.get(article=articles[0])
        row.data, row.text_hash = good.data, good.text_hash  # a layer computed on the other text

    assert _with_bad_layer(swap).counts["layer_text_changed"] == 1


def test_layer_of_another_text_with_this_texts_hash_is_still_never_used():
    def swap(row, articles):
        row.data = TokenLayerRow.objects.get(article=articles[0]).data  # hash left as this text's

    assert _with_bad_layer(swap).counts["layer_text_changed"] == 1


def test_layer_of_another_pipeline_version_is_reanalysed_and_counted():
    def other(row, _):
        row.pipeline = "en_core_web_sm@3.7.1/tokens.v1"

    assert _with_bad_layer(other).counts["layer_other_pipeline"] == 1


def test_flags_families_and_combining_marks_are_never_split():
    text = "Zelensky 🇺🇦 met Macron 🇫🇷🇺🇦 in Paris.🇺🇦🇺🇦 A family 👨‍👩‍👧‍👦 and Cafe\u0301 Zu\u0308rich."
    project, articles = _project_with([("g", text)], slug="graph")
    _preannotate(project, articles)
    layer = decode(TokenLayerRow.objects.get(article=articles[0]).data, text)
    inside = inside_positions(text)
    assert not inside & (set(layer.starts) | set(layer.ends))
    assert "🇺🇦" in layer.forms and "🇫🇷" in layer.forms and "👨‍👩‍👧‍👦" in layer.forms and "Cafe\u0301" in layer.forms


def test_a_gold_span_on_half_a_flag_is_snapped_to_the_whole_flag_and_counted():
    from tests.factories import GoldFactory, SpanFactory

    text = "Talks on 🇺🇦 went on. Officials said so on Monday."
    project, articles = _project_with([("f", text)], slug="half")
    flag = text.index("🇺🇦")
    # A reference span (gold: model suggestions are never CoNLL-2003 tags) that ends inside the flag.
    gold = GoldFactory(article=articles[0])
    SpanFactory(article=articles[0], gold=gold, start=flag, end=flag + 1, label="DATE", origin="human")
    job, path = run_export(project, "conll2003", **ALL)
    assert any(line.startswith("🇺🇦 ") and line.endswith(" B-DATE") for line in path.read_text().splitlines())
    assert job.counts["spans_expanded"] == 1


def test_quote_boundary_inside_a_cluster_is_snapped_at_preannotation():
    from annotate.nlp import quotes  # noqa: F401  (registers doc._.sp_quotes)
    from annotate.nlp.extract import doc_result

    class Quote:
        start, end, kind, speaker, speaker_start, speaker_end = 0, 0, "direct", None, None, None

    text = "He said “we stay 🇺🇦” today."
    nlp = spacy.blank("en")
    doc = nlp(text)
    q = Quote()
    q.start, q.end = text.index("“"), text.index("🇺🇦") + 1  # ends between the two regional indicators
    doc._.sp_quotes = [q]
    result = doc_result("k", doc)
    assert result.quotes[0]["end"] == text.index("🇺🇦") + 2 and result.spans_snapped == 1


def test_small_docbin_is_one_spacy_file_and_a_large_one_a_zip_of_folders(monkeypatch, tmp_path):
    from annotate.exports import spacy_docbin

    texts = [(f"a{i}", f"Olaf Scholz met Macron in Berlin on day {i}. They talked.") for i in range(5)]
    project, _ = _project_with(texts, slug="bins")
    job, path = run_export(project, "spacy", **ALL)
    assert job.file_name.endswith(".spacy") and not zipfile.is_zipfile(path)
    assert len(list(DocBin().from_disk(path).get_docs(spacy.blank("en").vocab))) == 5
    monkeypatch.setattr(spacy_docbin, "SINGLE_FILE_DOCS", 2)
    monkeypatch.setattr(spacy_docbin, "SHARD_DOCS", 2)
    job, zpath = run_export(project, "spacy", **ALL)
    assert job.file_name.endswith(".spacy.zip") and zipfile.is_zipfile(zpath)
    with zipfile.ZipFile(zpath) as zf:
        assert zf.namelist() == ["corpus/part-00000.spacy", "corpus/part-00001.spacy", "corpus/part-00002.spacy"]


def _spacy_train(tmp_path, train: Path) -> subprocess.CompletedProcess:
    cfg = tmp_path / "config.cfg"
    if not cfg.exists():
        made = subprocess.run([sys.executable, "-m", "spacy", "init", "config", str(cfg), "--lang", "en",
                               "--pipeline", "ner,textcat_multilabel", "--optimize", "efficiency"],
                              capture_output=True, text=True, timeout=300)
        assert made.returncode == 0, made.stderr
    return subprocess.run([sys.executable, "-m", "spacy", "train", str(cfg), "--paths.train", str(train),
                           "--paths.dev", str(train), "--training.max_steps", "2", "--training.eval_frequency", "1",
                           "--output", str(tmp_path / "model")],
                          capture_output=True, text=True, timeout=300)


def test_spacy_train_reads_the_single_file_and_the_unzipped_folder(monkeypatch, tmp_path):
    from annotate.exports import spacy_docbin
    from tests.unit.exports.data import build_demo

    demo = build_demo()
    job, path = run_export(demo.project, "spacy")
    assert path.name.endswith(".spacy")
    result = _spacy_train(tmp_path, path)
    assert result.returncode == 0, result.stderr[-2000:] + result.stdout[-2000:]
    monkeypatch.setattr(spacy_docbin, "SINGLE_FILE_DOCS", 1)
    job, zpath = run_export(demo.project, "spacy")
    with zipfile.ZipFile(zpath) as zf:
        zf.extractall(tmp_path / "unzipped")
    result = _spacy_train(tmp_path, tmp_path / "unzipped" / "corpus")
    assert result.returncode == 0, result.stderr[-2000:] + result.stdout[-2000:]


def test_analyse_command_backfills_with_progress_resumes_and_invalidates(settings, capsys):
    texts = [(f"b{i}", f"Officials in Berlin met on day {i}. Olaf Scholz spoke.") for i in range(5)]
    project, articles = _project_with(texts, slug="backfill")
    call_command("analyse", "--project", "backfill", "--chunk", "2")
    out = capsys.readouterr().out
    assert "0 of 5 articles have a token layer" in out
    assert "2/5 articles (40%)" in out and "5/5 articles (100%)" in out
    assert "Done: 5 of 5" in out
    assert TokenLayerRow.objects.filter(article__project=project).count() == 5
    # Resumable: nothing left to do.
    call_command("analyse", "--project", "backfill")
    assert "Nothing to analyse" in capsys.readouterr().out
    # A changed text (a re-import of an unannotated article) invalidates that article's layer…
    a = articles[0]
    a.text = "A new text for this article. It changed."
    a.content_hash = text_hash(a.text)
    a.save()
    call_command("analyse", "--project", "backfill", "--status")
    assert "4 of 5 articles" in capsys.readouterr().out
    job, _ = run_export(project, "conll2003", **ALL)
    assert job.counts["analysed_on_export"] == 1 and job.counts["layer_text_changed"] == 1
    call_command("analyse", "--project", "backfill")
    assert "1/1 articles (100%)" in capsys.readouterr().out
    # …and another stored pipeline version invalidates them all.
    TokenLayerRow.objects.update(pipeline="en_core_web_sm@3.7.1/tokens.v1")
    job, _ = run_export(project, "conll2003", **ALL)
    assert job.counts["analysed_on_export"] == 5 and job.counts["layer_other_pipeline"] == 5


def test_reimport_with_a_new_text_drops_the_layer_and_the_export_analyses_the_new_text(tmp_path):
    from annotate.services.imports import articles_import

    project = ProjectFactory(slug="reimport")
    src = tmp_path / "a.jsonl"
    src.write_text(json.dumps({"id": "r1", "text": "Olaf Scholz spoke in Berlin."}) + "\n")
    articles_import(project=project, source=src, queue_preannotation=False)
    call_command("analyse", "--project", "reimport")
    assert TokenLayerRow.objects.filter(article__project=project).count() == 1
    src.write_text(json.dumps({"id": "r1", "text": "Emmanuel Macron spoke in Paris 🇫🇷 today."}) + "\n")
    articles_import(project=project, source=src, queue_preannotation=False)
    assert TokenLayerRow.objects.filter(article__project=project).count() == 0
    job, path = run_export(project, "conll2003", **ALL)
    assert job.counts["analysed_on_export"] == 1 and "🇫🇷 " in path.read_text()


def test_fast_docbin_loads_exactly_like_spacys_own_docbin_add():
    from annotate.exports.spacy_docbin import DOCBIN_ATTRS, DocBinWriter
    from tests.unit.exports.data import build_demo

    demo = build_demo()
    job, path = run_export(demo.project, "spacy", submitted_only=False)
    vocab = spacy.blank("en").vocab
    fast = list(DocBin().from_disk(path).get_docs(vocab))
    slow = DocBin(attrs=DOCBIN_ATTRS, store_user_data=True)
    for doc in fast:
        slow.add(doc)
    again = list(DocBin().from_bytes(slow.to_bytes()).get_docs(vocab))
    assert len(fast) == 4 and DocBinWriter.extension_for
    for a, b in zip(fast, again, strict=True):
        assert a.to_json() == b.to_json()
        assert a.user_data == b.user_data and a.cats == b.cats
        assert {k: [(s.start, s.end, s.label_) for s in g] for k, g in a.spans.items()} == \
            {k: [(s.start, s.end, s.label_) for s in g] for k, g in b.spans.items()}
