"""API plumbing every app's API shares: errors, schema, authentication, permissions and fields."""
