"""Links and posters to share: a promoter's (a member who joins or signs in through it is
bound by HQ's rule) and a member's referral link (老带新: a friend who joins through it is
their referee), each the member web centre's sign-in carrying their code, drawn as one
poster with a QR of the link."""

from urllib.parse import urlencode

from django.conf import settings
from django.urls import reverse
from PIL import Image, ImageDraw

from apps.core.qr import png_bytes, qr_image
from apps.members.models import Member
from apps.referrals.models import Promoter
from apps.referrals.selectors import referral_link
from apps.stores.posters import BRAND_RED, GREY, INK, centered_text

WIDTH, HEIGHT = 750, 1100
QR_SIZE = 520


def promoter_link(promoter: Promoter) -> str:
    query = urlencode({"promoter": promoter.member.referral_code})
    return f"{settings.SITE_URL}{reverse('m-login')}?{query}"


def promoter_poster_png(promoter: Promoter) -> bytes:
    return poster_png(
        promoter_link(promoter),
        headline="扫码加入会员 · 好物一起买",
        footer=f"推广码 {promoter.member.referral_code}",
    )


def referral_poster_png(member: Member) -> bytes:
    return poster_png(
        referral_link(member),
        headline="扫码加入会员 · 你我都有礼",
        footer=f"邀请码 {member.referral_code}",
    )


def poster_png(link: str, *, headline: str, footer: str) -> bytes:
    """The brand's poster: `headline`, a QR of `link`, `footer`."""
    poster = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(poster)
    draw.rectangle([0, 0, WIDTH, 170], fill=BRAND_RED)
    centered_text(draw, settings.BRAND_NAME, y=50, size=64, fill="white", width=WIDTH)
    centered_text(draw, headline, y=210, size=40, fill=INK, width=WIDTH)
    code = qr_image(link, box_size=1, border=2)
    scale = QR_SIZE // code.width  # a whole number of pixels per module keeps it crisp
    code = code.resize((code.width * scale, code.height * scale), Image.NEAREST)
    poster.paste(code, ((WIDTH - code.width) // 2, 290 + (QR_SIZE - code.height) // 2))
    centered_text(draw, footer, y=HEIGHT - 140, size=32, fill=GREY, width=WIDTH)
    return png_bytes(poster)
