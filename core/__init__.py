"""Plumbing every app shares, depending on none of them.

exceptions (the error base), conf (shared settings), uploads (image bytes and their limit), middleware (body
size, no-store) and api/ (the exception handler, the OpenAPI schema, token authentication, permissions, fields).
"""
