"""A citizen's photo made safe to keep: the type read from the bytes (never the name), size and
pixel count bounded before anything is decoded (decompression bombs), and only the pixels
re-encoded into a new file, so that no metadata block of the original survives: no EXIF (GPS,
camera serials, maker notes), XMP, IPTC, ICC profile, comments or PNG text chunks."""

import hashlib
import io
import warnings
from dataclasses import dataclass
from enum import StrEnum

from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

# Pillow format name -> (media type, file extension)
FORMATS = {"JPEG": ("image/jpeg", ".jpg"), "PNG": ("image/png", ".png"), "WEBP": ("image/webp", ".webp")}
MEDIA_TYPES = {media_type for media_type, _ in FORMATS.values()}
EXTENSIONS = {media_type: extension for media_type, extension in FORMATS.values()}
JPEG_QUALITY = 85
WEBP_QUALITY = 85
UNREADABLE_TEXT = "The image is damaged or incomplete and cannot be read."
SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


class Refusal(StrEnum):
    """Why a photo is refused: the `reason` a client can switch on."""
    TOO_LARGE = "PHOTO_TOO_LARGE"
    UNSUPPORTED_TYPE = "UNSUPPORTED_TYPE"
    UNREADABLE = "UNREADABLE_IMAGE"
    TOO_MANY_PIXELS = "TOO_MANY_PIXELS"


class PhotoRefused(Exception):
    def __init__(self, reason: Refusal, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class PhotoLimits:
    max_bytes: int = 5 * 2**20
    max_pixels: int = 40_000_000
    max_side_px: int = 4096


@dataclass(frozen=True)
class CleanPhoto:
    """The re-encoded photo: these bytes are what is stored, nothing of the original file."""
    data: bytes
    media_type: str
    width: int
    height: int

    @property
    def sha256(self) -> bytes:
        return hashlib.sha256(self.data).digest()

    @property
    def extension(self) -> str:
        return EXTENSIONS[self.media_type]


def clean(data: bytes, limits: PhotoLimits) -> CleanPhoto:
    """The photo re-encoded without metadata, or PhotoRefused. CPU-bound: run it on a thread."""
    if len(data) > limits.max_bytes:
        raise PhotoRefused(Refusal.TOO_LARGE, f"The photo has more than {limits.max_bytes} bytes.")
    with warnings.catch_warnings():
        # Pillow warns past Image.MAX_IMAGE_PIXELS and raises past twice that: both refuse here.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data), formats=list(FORMATS)) as image:
                return _reencoded(image, limits)
        except PhotoRefused:
            raise
        except UnidentifiedImageError:
            if _signed_as_ours(data):   # the signature is right, the rest is not
                raise PhotoRefused(Refusal.UNREADABLE, UNREADABLE_TEXT) from None
            raise PhotoRefused(Refusal.UNSUPPORTED_TYPE, "The file is not a JPEG, PNG or WebP "
                                                         "image (judged by its content).") from None
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise PhotoRefused(Refusal.TOO_MANY_PIXELS, _too_many_pixels(limits)) from None
        except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, MemoryError):
            # Pillow's ways of saying "truncated", "broken data stream", "bad chunk"...
            raise PhotoRefused(Refusal.UNREADABLE, UNREADABLE_TEXT) from None


def _signed_as_ours(data: bytes) -> bool:
    """Whether the file starts with the signature of JPEG, PNG or WebP."""
    return (data.startswith((b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n"))
            or (data[:4] == b"RIFF" and data[8:12] == b"WEBP"))


def _too_many_pixels(limits: PhotoLimits) -> str:
    return (f"The image has more than {limits.max_pixels} pixels "
            f"({limits.max_pixels / 1e6:g} megapixels).")


def _reencoded(image: Image.Image, limits: PhotoLimits) -> CleanPhoto:
    source_format = image.format or ""
    if source_format not in FORMATS:
        raise PhotoRefused(Refusal.UNSUPPORTED_TYPE, "The file is not a JPEG, PNG or WebP image.")
    # The header's size, before any pixel is decoded.
    if image.width * image.height > limits.max_pixels or image.width <= 0 or image.height <= 0:
        raise PhotoRefused(Refusal.TOO_MANY_PIXELS, _too_many_pixels(limits))
    if source_format == "JPEG":
        # Decode at a reduced scale when the photo would be scaled down anyway (DCT scaling).
        image.draft(image.mode, (limits.max_side_px, limits.max_side_px))
    image.load()   # the whole file: a truncated or corrupt one fails here
    icc = image.info.get("icc_profile")
    picture = ImageOps.exif_transpose(image)   # the camera's orientation, applied to the pixels
    picture = _normalised_mode(picture, keep_alpha=source_format != "JPEG")
    if icc and picture.mode in ("RGB", "RGBA"):
        picture = _to_srgb(picture, icc)
    if max(picture.size) > limits.max_side_px:
        picture.thumbnail((limits.max_side_px, limits.max_side_px), Image.Resampling.LANCZOS)
    # A new image from the pixels alone: its `info` is empty, so nothing of the original's
    # metadata can be written by the encoder, whatever it copies by default.
    pixels_only = Image.frombytes(picture.mode, picture.size, picture.tobytes())
    out = io.BytesIO()
    if source_format == "JPEG":
        pixels_only.save(out, "JPEG", quality=JPEG_QUALITY)
    elif source_format == "PNG":
        pixels_only.save(out, "PNG", compress_level=3)   # 6 costs a third more for ~5 %
    else:
        pixels_only.save(out, "WEBP", quality=WEBP_QUALITY, method=2)   # 4: twice the time
    media_type, _ = FORMATS[source_format]
    return CleanPhoto(data=out.getvalue(), media_type=media_type, width=pixels_only.width,
                      height=pixels_only.height)


def _normalised_mode(image: Image.Image, keep_alpha: bool) -> Image.Image:
    """L, RGB or RGBA: modes every target encoder writes, palettes resolved."""
    has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        image.mode == "P" and "transparency" in image.info)
    if has_alpha and keep_alpha:
        return image if image.mode == "RGBA" else image.convert("RGBA")
    if image.mode in ("L", "RGB"):
        return image
    if image.mode == "1":
        return image.convert("L")
    return image.convert("RGB")


def _to_srgb(image: Image.Image, icc: bytes) -> Image.Image:
    """The pixels in sRGB when the photo carries another colour profile (a phone's Display P3),
    so that dropping the profile keeps the colours; left as they are if the profile is unusable."""
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        converted = ImageCms.profileToProfile(image, source, SRGB, outputMode=image.mode)
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return image
    return converted if converted is not None else image
