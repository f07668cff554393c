"""Pre-annotation tasks (annotate.nlp)."""
