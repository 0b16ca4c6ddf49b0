"""HTTP API of the assessment platform: accounts, authoring, attempts, admin and operations."""
