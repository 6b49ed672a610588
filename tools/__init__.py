"""Developer tools: the README diagram generator, docs/openapi.json."""
