"""Helpers to register shared photos in tests."""

from entries import services


def register(photo, code="E001", image="img1.jpg", **fields):
    fields.setdefault("name", f"Employee {code}")
    fields.setdefault("consent_reference", f"consent form {code}")
    return services.entry_register(employee_code=code, image=photo(image), **fields)
