"""Serializer fields every app's API uses: images sent as files or base64, and record ids on every store."""

import base64
import binascii

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.utils import html

from .. import conf, uploads
from ..exceptions import ImageTooLarge


@extend_schema_field(OpenApiTypes.BYTE)  # base64 in JSON; a file part in multipart requests
class Base64ImageField(serializers.Field):
    """An image sent as a multipart file or as base64 text (a data: URI prefix is allowed); read as base64."""

    default_error_messages = {
        "invalid_base64": "Image must be a file upload or a base64-encoded string.",
    }

    def get_value(self, dictionary):
        # DRF reads a form's empty optional field as no field; an empty image is an empty image (415), as in JSON.
        if html.is_html_input(dictionary) and dictionary.get(self.field_name) == "":
            return ""
        return super().get_value(dictionary)

    def to_internal_value(self, data):
        limit = conf.get("MAX_IMAGE_BYTES")
        if hasattr(data, "read"):
            if data.size > limit:
                raise ImageTooLarge(f"The image is {data.size} bytes; the limit is {limit} bytes.",
                                    size=data.size, limit=limit)
            return data.read()
        if not isinstance(data, str):
            self.fail("invalid_base64")
        text = uploads.base64_payload(data)
        if len(text) * 3 // 4 > limit + 3:
            raise ImageTooLarge(f"The image is about {len(text) * 3 // 4} bytes; the limit is {limit} bytes.",
                                limit=limit)
        try:
            raw = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            self.fail("invalid_base64")
        uploads.check_size(raw)
        return raw

    def to_representation(self, value):
        return base64.b64encode(bytes(value)).decode("ascii")


@extend_schema_field({"oneOf": [{"type": "integer"}, {"type": "string"}], "readOnly": True,
                      "description": "Record id: an integer on SQLite and PostgreSQL, an ObjectId string on MongoDB."})
class RecordId(serializers.ReadOnlyField):
    def to_representation(self, value):
        return value if isinstance(value, int) else str(value)


class StrictCharField(serializers.CharField):
    """A CharField that takes text only: DRF's turns a number into text, which a JSON Schema calls invalid."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        if self.max_length is not None and len(data) > self.max_length:
            # Checked before DRF trims, as a JSON Schema's maxLength counts the text sent.
            self.fail("max_length", max_length=self.max_length)
        return super().to_internal_value(data)
