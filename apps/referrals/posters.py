"""A promoter's link and poster: the member web centre's sign-in carrying their code, and a
QR of it to share (a member who joins or signs in through it is bound by HQ's rule)."""

from urllib.parse import urlencode

from django.conf import settings
from django.urls import reverse
from PIL import Image, ImageDraw

from apps.core.qr import png_bytes, qr_image
from apps.referrals.models import Promoter
from apps.stores.posters import BRAND_RED, GREY, INK, centered_text

WIDTH, HEIGHT = 750, 1100
QR_SIZE = 520


def promoter_link(promoter: Promoter) -> str:
    query = urlencode({"promoter": promoter.member.referral_code})
    return f"{settings.SITE_URL}{reverse('m-login')}?{query}"


def promoter_poster_png(promoter: Promoter) -> bytes:
    poster = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(poster)
    draw.rectangle([0, 0, WIDTH, 170], fill=BRAND_RED)
    centered_text(draw, settings.BRAND_NAME, y=50, size=64, fill="white", width=WIDTH)
    centered_text(draw, "扫码加入会员 · 好物一起买", y=210, size=40, fill=INK, width=WIDTH)
    code = qr_image(promoter_link(promoter), box_size=1, border=2)
    scale = QR_SIZE // code.width  # a whole number of pixels per module keeps it crisp
    code = code.resize((code.width * scale, code.height * scale), Image.NEAREST)
    poster.paste(code, ((WIDTH - code.width) // 2, 290 + (QR_SIZE - code.height) // 2))
    footer = f"推广码 {promoter.member.referral_code}"
    centered_text(draw, footer, y=HEIGHT - 140, size=32, fill=GREY, width=WIDTH)
    return png_bytes(poster)
