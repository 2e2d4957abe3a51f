"""Versioned routes; `app.main` mounts them under /v1."""
