"""Which spaCy pipeline Standpoint uses, resolved without loading it in the web process."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings

if TYPE_CHECKING:  # spaCy is imported lazily: the web process only describes the pipeline
    from spacy.language import Language


def describe_configured_pipeline() -> dict:
    """Cheap description of SPACY_MODEL for /healthz and the admin: never loads the weights."""
    import spacy.util

    name = settings.SPACY_MODEL
    info = {"setting": name, "name": name, "version": None, "trained": False, "fallback_reason": None}
    path = Path(name)
    try:
        if path.exists():
            meta = spacy.util.get_model_meta(path)
        elif spacy.util.is_package(name):
            meta = spacy.util.get_package_path(name) and spacy.util.load_meta(
                spacy.util.get_package_path(name) / "meta.json")
        else:
            info["fallback_reason"] = f"SPACY_MODEL {name!r} is neither an installed package nor a directory"
            return info
    except Exception as exc:  # a broken meta.json is reported, never fatal for a health check
        info["fallback_reason"] = f"cannot read the pipeline's meta.json: {exc}"
        return info
    info.update(name=f"{meta.get('lang', 'xx')}_{meta.get('name', name)}", version=meta.get("version"), trained=True)
    return info


# --- the pipeline itself (worker processes only) -------------------------------------------------

logger = logging.getLogger("standpoint.nlp")

RULES_NAME, RULES_VERSION = "standpoint_rules", "1"


@dataclass(frozen=True)
class LoadedPipeline:
    nlp: Language
    name: str  # stored on every model span (Span.model_name)
    version: str  # Span.model_version
    trained: bool
    fallback_reason: str | None = None

    @property
    def label(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def layer_key(self) -> str:
        """The key its token layers are stored under: the same as the export pipeline's."""
        from .token_layer import pipeline_key

        return pipeline_key(self.name, self.version, self.trained)


_CACHE: dict[str, LoadedPipeline] = {}
_LOCK = threading.Lock()


def _add_standpoint_components(nlp: Language) -> None:
    from . import graphemes, quotes, speakers  # noqa: F401  (registers the factories)

    graphemes.add_to(nlp)  # first: no token, entity or quote splits a grapheme cluster
    if "sp_paragraphs" not in nlp.pipe_names:
        # before the parser (it keeps preset sentence starts), else after the sentencizer
        anchor = next((n for n in ("parser", "senter") if n in nlp.pipe_names), None)
        nlp.add_pipe("sp_paragraphs", before=anchor) if anchor else nlp.add_pipe("sp_paragraphs")
    if "sp_quotes" not in nlp.pipe_names:
        nlp.add_pipe("sp_quotes", last=True)
    if "sp_speakers" not in nlp.pipe_names:
        nlp.add_pipe("sp_speakers", last=True)


def build_rules_pipeline() -> Language:
    """Blank English + sentencizer + the quote rules: no NER, no parse, but never unavailable."""
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    _add_standpoint_components(nlp)
    return nlp


def _load(setting: str) -> LoadedPipeline:
    import spacy

    try:
        nlp = spacy.load(setting)
    except Exception as exc:  # any failure to load means the rule pipeline, said loudly once
        reason = f"cannot load SPACY_MODEL {setting!r}: {exc.__class__.__name__}: {exc}"
        logger.warning(
            "NO TRAINED spaCy PIPELINE: %s. Pre-annotation falls back to rules only "
            "(sentences, quotation marks, speech verbs; no entities). Install the pipeline "
            "(see README) or set SPACY_MODEL.", reason,
        )
        return LoadedPipeline(build_rules_pipeline(), RULES_NAME, RULES_VERSION, False, reason)
    _add_standpoint_components(nlp)
    name = f"{nlp.meta.get('lang', 'xx')}_{nlp.meta.get('name', setting)}"
    return LoadedPipeline(nlp, name, str(nlp.meta.get("version", "")), True)


def get_pipeline(setting: str | None = None) -> LoadedPipeline:
    """The pipeline for SPACY_MODEL, loaded once per process (a worker loads it on first use)."""
    setting = setting or settings.SPACY_MODEL
    loaded = _CACHE.get(setting)
    if loaded is None:
        with _LOCK:
            loaded = _CACHE.get(setting)
            if loaded is None:
                loaded = _CACHE[setting] = _load(setting)
    return loaded


def loaded_pipelines() -> dict[str, LoadedPipeline]:
    """What this process has loaded (tests and the benchmark check that it is loaded once)."""
    return dict(_CACHE)
