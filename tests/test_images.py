"""Photo decoding trusts content, not names or declared types."""

import pytest
from django.test import override_settings
from PIL import Image

from entries.exceptions import ImageTooLarge, InvalidImage
from entries.recognition import images
from tests.conftest import encode


def small(fmt):
    return encode(Image.new("RGB", (32, 24), "red"), fmt)


@pytest.mark.parametrize(("fmt", "mime"), [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp")])
def test_jpeg_png_and_webp_decode_to_rgb(fmt, mime):
    photo = images.decode(small(fmt))
    assert photo.mime_type == mime
    assert photo.rgb.shape == (24, 32, 3)


@pytest.mark.parametrize("data", [b"", b"hello, I am a jpeg", small("GIF"), small("BMP"), small("JPEG")[:40]])
def test_anything_else_is_refused(data):
    with pytest.raises(InvalidImage):
        images.decode(data)


@override_settings(FACEREC={"MAX_IMAGE_BYTES": 100})
def test_bytes_over_the_limit_are_refused():
    with pytest.raises(ImageTooLarge):
        images.decode(small("PNG") + b"\0" * 200)


@override_settings(FACEREC={"MAX_IMAGE_PIXELS": 500})
def test_decompression_bombs_are_refused():
    with pytest.raises(ImageTooLarge):
        images.decode(small("PNG"))


def test_palette_and_alpha_images_become_rgb():
    photo = images.decode(encode(Image.new("RGBA", (10, 10), (0, 0, 255, 128)), "PNG"))
    assert photo.rgb.shape == (10, 10, 3)
