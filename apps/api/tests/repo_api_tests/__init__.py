"""Tests of the HTTP API (every file runs against SQLite and PostgreSQL via db_engine)."""
