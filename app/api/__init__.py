"""HTTP layer: dependencies, middleware and versioned routes."""
