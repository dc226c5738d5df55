"""Photo decoding trusts content, not names or declared types."""

import io
import struct
import zlib

import numpy as np
import pytest
from django.test import override_settings
from PIL import Image

from core.exceptions import ImageTooLarge
from entries.exceptions import InvalidImage
from entries.recognition import images
from tests.factories import encode


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


# --- decoding only as finely as detection needs (issue 14, defect 18) -----------------------------------

@pytest.mark.parametrize("fmt", ["PNG", "WEBP", "HEIF"])
def test_formats_decoded_in_full_have_their_own_lower_pixel_cap(fmt):
    image = Image.new("RGB", (60, 50), "red")
    with override_settings(FACEREC={"MAX_FULL_DECODE_PIXELS": 2000}):
        with pytest.raises(ImageTooLarge) as refused:
            images.decode(encode(image, fmt))
        assert refused.value.details["limit"] == 2000 and "decoded in full" in refused.value.message
        assert images.decode(encode(image, "JPEG")).rgb.shape == (50, 60, 3)  # JPEG keeps MAX_IMAGE_PIXELS


@pytest.mark.parametrize("fmt", ["PNG", "WEBP", "HEIF"])
def test_a_large_png_webp_or_heic_is_reduced_for_detection_and_says_by_how_much(fmt):
    image = Image.linear_gradient("L").resize((2600, 1300)).convert("RGB")
    photo = images.decode(encode(image, fmt), keep_side=640)
    assert photo.rgb.shape == (325, 650, 3)  # reduced 4 times: its long side still at least 640
    assert photo.scale == 4 and photo.size == (2600, 1300)
    assert abs(int(photo.rgb[160, 600, 0]) - image.getpixel((2400, 640))[0]) <= 8  # averaged, not sampled


def test_a_reduced_photo_is_upright_and_a_reduced_16_bit_one_still_scaled_not_clipped():
    sideways = Image.new("RGB", (1400, 700), "blue")
    exif = Image.Exif()
    exif[0x0112] = 6
    assert images.decode(encode(sideways, "PNG", exif=exif.tobytes()), keep_side=640).rgb.shape == (700, 350, 3)
    ramp = np.tile(np.linspace(0, 65535, 1400).astype(np.uint16), (700, 1))
    grey = images.decode(encode(Image.fromarray(ramp), "PNG"), keep_side=640).rgb[:, :, 0]
    assert grey.shape == (350, 700) and grey.min() <= 2 and grey.max() >= 250


def test_a_palette_png_is_reduced_by_its_colours_not_its_palette_indices():
    image = Image.new("RGB", (1400, 700), (200, 30, 30)).convert("P", palette=Image.Palette.ADAPTIVE, colors=4)
    photo = images.decode(encode(image, "PNG"), keep_side=640)
    assert photo.scale == 2 and tuple(photo.rgb[100, 100]) == image.convert("RGB").getpixel((200, 200))
