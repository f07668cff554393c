"""Export tasks (annotate.exports)."""
