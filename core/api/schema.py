"""The OpenAPI schema documents every error an operation can answer, in the one shape errors.py writes."""

from django.core.validators import RegexValidator
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

from .fields import StrictCharField


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Machine-readable: `invalid`, `not_found`, `no_face`, `throttled`, …")
    message = serializers.CharField(help_text="What went wrong, for a person.")
    details = serializers.JSONField(required=False, help_text="Per-field messages (validation) or the limit hit.")


def _error(description):
    return OpenApiResponse(ErrorSerializer, description=description)


ALWAYS = {
    400: "Invalid request: `details` names each field.",
    401: "No credentials, or wrong or expired ones.",
    403: "Authenticated, but not allowed to do this.",
    404: "No such object or page (or an unknown `?format=`).",
    429: "Too many requests (`Retry-After` says when to try again).",
    503: "The database is unavailable; try again in a moment.",
}
WITH_BODY = {
    409: "Conflicts with what is stored (duplicate employee code or face, too many photos).",
    413: "The body or an image is over the size limit.",
    415: "Unsupported content type, or an image that is not JPEG, PNG, WebP or HEIC.",
    422: "The photo was read but cannot be used (no face, several faces, poor quality, consent missing).",
}


class AutoSchema(SpectacularAutoSchema):
    """Adds the error answers (ErrorSerializer) that the view does not describe itself."""

    def get_operation(self, *args, **kwargs):
        operation = super().get_operation(*args, **kwargs)
        for parameter in (operation or {}).get("parameters", []):
            schema = parameter.get("schema", {})
            if parameter["in"] == "query" and not parameter.get("required") and schema.get("type") == "string":
                # An empty query parameter is no parameter (filters, timesheet dates; browsable API forms send them).
                if "enum" in schema and "" not in schema["enum"]:
                    schema["enum"] = [*schema["enum"], ""]
                elif "format" in schema or "pattern" in schema:
                    parameter["schema"] = {"anyOf": [schema, {"type": "string", "maxLength": 0}]}
            elif parameter["in"] == "query" and parameter["name"] == "page" and schema.get("type") == "integer":
                # DRF's page-number pagination reads an empty page as the first page.
                parameter["schema"] = {"anyOf": [schema, {"type": "string", "maxLength": 0}]}
        return operation

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if (direction == "request" and type(field) in (serializers.CharField, StrictCharField) and not field.allow_blank
                and field.trim_whitespace and not any(isinstance(v, RegexValidator) for v in field.validators)):
            # DRF strips surrounding whitespace before it checks for blank, so "\u00a0" is blank too.
            # (A field's own RegexValidator becomes its pattern later, in _insert_field_validators.)
            # Python's whitespace (str.strip) also holds \x1c-\x1f and \x85, which a JSON Schema's \s does not.
            schema["pattern"] = r"[^\s\x1c-\x1f\x85]"
        return schema

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        errors = dict(ALWAYS)
        if self.method in ("POST", "PUT", "PATCH"):
            errors.update(WITH_BODY)
        for status, description in errors.items():
            responses.setdefault(str(status), self._get_response_for_code(_error(description), str(status),
                                                                          direction=direction))
        return responses
