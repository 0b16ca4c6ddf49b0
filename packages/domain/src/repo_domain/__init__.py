"""The platform's rules, shared by the HTTP API (apps/api) and the web UI (apps/web).

Every function takes the caller's ``repo_db.unit_of_work()`` session and the acting user, and
raises ``repo_domain.errors.DomainError`` subclasses that each adapter maps to its own responses
(JSON for the API, HTML pages for the web UI).
"""
