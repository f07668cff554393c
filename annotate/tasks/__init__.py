"""Celery tasks: thin, idempotent, bounded (G7). Each area keeps its own module; task names are
explicit (`annotate.<area>_<verb>`) so routes and stored messages survive a module move."""

from . import exports, models, preannotation, stories, tokens  # noqa: F401  (registers the tasks with the app)
