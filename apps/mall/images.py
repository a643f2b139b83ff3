"""商品图: a product's picture, checked once when uploaded, stored under the hash of its
content (so a name never changes meaning and is cached as immutable, apps.core.media), and
the thumbnail lists show, made here when the picture changes, never on a request."""

import hashlib
import io
import warnings

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageOps

from apps.mall.models import Product

MAX_BYTES = 5 * 1024 * 1024
# A picture of more pixels is refused from its header, before it is unpacked: a small file
# can claim a size that would take gigabytes of memory (a decompression bomb).
MAX_PIXELS = 25_000_000
FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
THUMBNAIL_SIDE = 400


def image_check(upload) -> str:
    """The extension of an acceptable picture (JPEG, PNG or WebP, at most 5 MB and
    MAX_PIXELS), or ValidationError."""
    if upload.size > MAX_BYTES:
        raise ValidationError(_("A picture may be at most 5 MB."), code="image_too_large")
    not_a_picture = ValidationError(
        _("This is not a JPEG, PNG or WebP picture."), code="image_format"
    )
    too_many_pixels = ValidationError(
        _("A picture may have at most 25 million pixels."), code="image_too_large"
    )
    upload.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(upload) as image:
                kind = image.format
                if kind not in FORMATS:
                    raise not_a_picture
                if image.width * image.height > MAX_PIXELS:
                    raise too_many_pixels
                image.verify()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise too_many_pixels from error
    except (OSError, SyntaxError, ValueError) as error:
        raise not_a_picture from error
    finally:
        upload.seek(0)
    return FORMATS[kind]


def product_image_set(product: Product, upload) -> None:
    """Make `upload` the product's picture, with its thumbnail; the caller saves the product.
    The same picture uploaded again is stored once."""
    extension = image_check(upload)
    content = b"".join(upload.chunks())
    digest = hashlib.sha256(content).hexdigest()[:32]
    product.image = _stored(f"products/{digest}.{extension}", lambda: content)
    product.thumbnail = _stored(f"products/thumbs/{digest}.webp", lambda: thumbnail_bytes(content))


def product_image_clear(product: Product) -> None:
    """No picture any more. The files stay: another product may show the same picture."""
    product.image = ""
    product.thumbnail = ""


def thumbnail_bytes(content: bytes) -> bytes:
    """A WebP at most THUMBNAIL_SIDE a side, turned upright as the camera's EXIF says, on
    white where the picture was transparent."""
    with Image.open(io.BytesIO(content)) as picture:
        upright = ImageOps.exif_transpose(picture).convert("RGBA")
    upright.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE), Image.Resampling.LANCZOS)
    flat = Image.new("RGB", upright.size, "white")
    flat.paste(upright, mask=upright.getchannel("A"))
    buffer = io.BytesIO()
    flat.save(buffer, format="WEBP", quality=80, method=4)
    return buffer.getvalue()


def _stored(name: str, content) -> str:
    if default_storage.exists(name):
        return name
    return default_storage.save(name, ContentFile(content()))
