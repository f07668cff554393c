"""spaCy pre-annotation: entities and attributed quotations."""
