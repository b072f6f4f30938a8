"""Use cases: one function per command, each taking a required, keyword-only context."""
