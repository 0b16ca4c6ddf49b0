"""Thin routers, one per area: validate input, call the domain, shape the output."""
