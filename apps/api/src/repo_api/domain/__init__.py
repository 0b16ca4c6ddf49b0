"""Business logic: every query of the API lives here, never in route handlers."""
