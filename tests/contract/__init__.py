"""Contract tests: the events we publish against their schemas, and schema compatibility."""
