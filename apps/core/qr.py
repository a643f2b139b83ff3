"""QR codes and the fonts to print beside them (store posters, member codes)."""

import io
from functools import lru_cache
from pathlib import Path

import qrcode
from django.conf import settings
from PIL import Image, ImageFont
from qrcode.constants import ERROR_CORRECT_M

# Common places of a TrueType font with Chinese glyphs: Debian's fonts-wqy-microhei and
# fonts-noto-cjk, macOS and Windows. POSTER_FONT overrides them.
_CJK_FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/System/Library/Fonts/PingFang.ttc",
    "C:/Windows/Fonts/msyh.ttc",
)


def qr_image(data: str, *, box_size: int = 10, border: int = 4) -> Image.Image:
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=box_size, border=border)
    code.add_data(data)
    code.make(fit=True)
    return code.make_image(fill_color="black", back_color="white").get_image().convert("RGB")


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def qr_png(data: str, **options) -> bytes:
    return png_bytes(qr_image(data, **options))


@lru_cache(maxsize=1)
def cjk_font_path() -> str | None:
    """The font used for Chinese text on images, or None when the machine has none."""
    for candidate in (settings.POSTER_FONT, *_CJK_FONT_CANDIDATES):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


def cjk_font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    path = cjk_font_path()
    if path is None:
        return ImageFont.load_default(size)
    return ImageFont.truetype(path, size)
