"""Photo decoding trusts content, not names or declared types."""

import io
import struct
import zlib

import numpy as np
import pytest
from django.test import override_settings
from PIL import Image

from entries.exceptions import ImageTooLarge, InvalidImage
from entries.recognition import images
from tests.conftest import encode


def small(fmt):
    return encode(Image.new("RGB", (32, 24), "red"), fmt)


@pytest.mark.parametrize(("fmt", "mime"), [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp"),
                                          ("HEIF", "image/heif")])
def test_jpeg_png_webp_and_heic_decode_to_rgb(fmt, mime):
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


def png_declaring(width, height):
    """A tiny PNG whose header claims width x height pixels (a decompression bomb's calling card)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


def test_a_png_declaring_bomb_dimensions_is_too_large_not_unsupported():
    with pytest.raises(ImageTooLarge):
        images.decode(png_declaring(50_000, 50_000))


def test_an_mpo_from_a_phone_is_read_as_its_first_frame():
    first, second = Image.new("RGB", (32, 24), "red"), Image.new("RGB", (16, 16), "blue")
    out = io.BytesIO()
    first.save(out, format="MPO", save_all=True, append_images=[second])
    photo = images.decode(out.getvalue())
    assert photo.mime_type == "image/jpeg" and photo.rgb.shape == (24, 32, 3)
    assert photo.rgb[12, 16, 0] > 200  # red: the first frame


def test_a_16_bit_grey_photo_is_scaled_not_clipped():
    ramp = (np.arange(64, dtype=np.uint16) * 1024).reshape(8, 8)
    photo = images.decode(encode(Image.fromarray(ramp), "PNG"))
    grey = photo.rgb[:, :, 0]
    assert grey.min() == 0 and 240 <= grey.max() <= 255 and len(np.unique(grey)) > 32
