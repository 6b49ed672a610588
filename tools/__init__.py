"""Developer tools: the README diagram generator."""
