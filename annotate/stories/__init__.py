"""Near-duplicates (fingerprint) and stories (grouping) of a project's articles; services in
annotate.services.stories."""
