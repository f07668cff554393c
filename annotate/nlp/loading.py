"""Which spaCy pipeline Standpoint uses, resolved without loading it in the web process."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings


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
