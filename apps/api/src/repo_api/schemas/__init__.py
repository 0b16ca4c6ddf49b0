"""Pydantic request/response models, one module per area (XBase/XCreate/XUpdate/XPublic)."""
