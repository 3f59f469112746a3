"""photos.images: a photo is judged by its content, bounded before decoding, and re-encoded from
its pixels alone, so that no metadata of the original survives (issue 12, point 5)."""

import io
import struct
import zlib

import pytest
from PIL import Image

from photos.images import CleanPhoto, PhotoLimits, PhotoRefused, Refusal, clean
from tests.support import CAMERA_SERIAL, assert_no_metadata, photo_bytes

LIMITS = PhotoLimits()


@pytest.mark.parametrize(("fmt", "media_type"), [("JPEG", "image/jpeg"), ("PNG", "image/png"),
                                                 ("WEBP", "image/webp")])
def test_every_metadata_block_is_gone_and_the_type_is_kept(fmt: str, media_type: str) -> None:
    original = photo_bytes(fmt)
    with Image.open(io.BytesIO(original)) as image:   # the original does carry them
        assert image.getexif().get_ifd(0x8825)[2] == (52.0, 13.0, 48.0)
        assert "icc_profile" in image.info
    assert CAMERA_SERIAL in original
    photo = clean(original, LIMITS)
    assert photo.media_type == media_type
    assert_no_metadata(photo.data)
    with Image.open(io.BytesIO(photo.data)) as stored:
        assert stored.format == fmt
        assert stored.size == (photo.width, photo.height)


def test_the_cameras_orientation_is_applied_to_the_pixels() -> None:
    photo = clean(photo_bytes("JPEG", size=(80, 60)), LIMITS)   # EXIF orientation 6: turned
    assert (photo.width, photo.height) == (60, 80)


def test_the_type_comes_from_the_content_not_the_name() -> None:
    gif = photo_bytes("GIF", metadata=False)
    for data in (gif, b"%PDF-1.7 not an image", b"<svg xmlns='http://www.w3.org/2000/svg'/>",
                 b"GIF89a" + b"\0" * 100, photo_bytes("BMP", metadata=False), b""):
        with pytest.raises(PhotoRefused) as refused:
            clean(data, LIMITS)
        assert refused.value.reason is Refusal.UNSUPPORTED_TYPE, data[:10]


def test_a_damaged_image_is_unreadable() -> None:
    jpeg = photo_bytes("JPEG", size=(400, 300), metadata=False)
    png = photo_bytes("PNG", size=(400, 300), metadata=False)
    for data in (jpeg[: len(jpeg) // 2], png[: len(png) // 2],
                 png[:40] + bytes(len(png) - 40)):   # a valid header, then zeros
        with pytest.raises(PhotoRefused) as refused:
            clean(data, LIMITS)
        assert refused.value.reason is Refusal.UNREADABLE


def test_too_many_bytes() -> None:
    with pytest.raises(PhotoRefused) as refused:
        clean(photo_bytes("PNG"), PhotoLimits(max_bytes=100))
    assert refused.value.reason is Refusal.TOO_LARGE


def _png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width x height (a decompression bomb's shape)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))


def test_a_decompression_bomb_is_refused_before_it_is_decoded() -> None:
    # Past Pillow's own MAX_IMAGE_PIXELS (its DecompressionBombError) and past ours only.
    for width, height in ((30_000, 30_000), (7_000, 7_000)):
        with pytest.raises(PhotoRefused) as refused:
            clean(_png_claiming(width, height), LIMITS)
        assert refused.value.reason is Refusal.TOO_MANY_PIXELS


def test_a_real_image_past_the_pixel_limit_is_refused() -> None:
    data = photo_bytes("PNG", size=(300, 200), metadata=False)
    with pytest.raises(PhotoRefused) as refused:
        clean(data, PhotoLimits(max_pixels=300 * 200 - 1))
    assert refused.value.reason is Refusal.TOO_MANY_PIXELS
    assert isinstance(clean(data, PhotoLimits(max_pixels=300 * 200)), CleanPhoto)


def test_a_large_photo_is_scaled_down_to_the_longest_side() -> None:
    photo = clean(photo_bytes("JPEG", size=(1200, 900), metadata=False), PhotoLimits(max_side_px=400))
    assert (photo.width, photo.height) == (400, 300)


def test_transparency_is_kept_in_png_and_webp_and_palettes_resolved() -> None:
    image = Image.new("RGBA", (20, 20), (0, 0, 255, 0))
    palette = Image.new("P", (20, 20))
    for fmt in ("PNG", "WEBP"):
        out = io.BytesIO()
        image.save(out, fmt)
        with Image.open(io.BytesIO(clean(out.getvalue(), LIMITS).data)) as stored:
            assert stored.mode == "RGBA" and stored.getpixel((5, 5))[3] == 0
    out = io.BytesIO()
    palette.save(out, "PNG")
    with Image.open(io.BytesIO(clean(out.getvalue(), LIMITS).data)) as stored:
        assert stored.mode in ("RGB", "L")


def test_an_animation_keeps_its_first_frame() -> None:
    frames = [Image.new("RGB", (30, 20), colour) for colour in ((255, 0, 0), (0, 255, 0))]
    out = io.BytesIO()
    frames[0].save(out, "WEBP", save_all=True, append_images=frames[1:], duration=100)
    photo = clean(out.getvalue(), LIMITS)
    with Image.open(io.BytesIO(photo.data)) as stored:
        assert getattr(stored, "n_frames", 1) == 1
        red, green, _ = stored.convert("RGB").getpixel((10, 10))
        assert red > 200 and green < 60
