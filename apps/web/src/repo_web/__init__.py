"""Server-rendered web UI for learners and admins."""
