"""一店一码: the printable posters a store puts on its counter: one to recruit members, one
for members to pay the store (在线收款)."""

from django.conf import settings
from django.urls import reverse
from PIL import Image, ImageDraw

from apps.core.qr import cjk_font, png_bytes, qr_image
from apps.stores.models import Staff, Store

WIDTH, HEIGHT = 1240, 1754  # A4 at 150 dpi
QR_SIZE = 820
BRAND_RED = (190, 30, 45)
INK = (34, 34, 34)
GREY = (110, 110, 110)


def store_join_url(store: Store) -> str:
    return settings.SITE_URL + reverse("store-landing", args=[store.code])


def guide_join_url(guide: Staff) -> str:
    """The store's join address carrying the guide's code: members who join through it
    are credited to the guide."""
    return f"{store_join_url(guide.store)}?guide={guide.guide_code}"


def store_pay_url(store: Store, guide: Staff | None = None) -> str:
    """The store's pay address (在线收款); with a `guide`, carrying their code: a member who
    joins as they pay through it is credited to the guide, and so is the sale."""
    url = settings.SITE_URL + reverse("m-store-pay", args=[store.code])
    return f"{url}?guide={guide.guide_code}" if guide else url


def _headlines(store: Store, pay: bool) -> tuple[str, str]:
    if not pay:
        return "微信扫码 · 加入会员", "积分通用 · 专享会员价 · 生日礼"
    # The poster promises only the benefits HQ lets this store give on store payments.
    if store.pay_tier_discount:
        return "微信扫码 · 会员买单", "会员折扣 · 优惠券 · 积分抵现 自动享受"
    return "微信扫码 · 会员买单", "优惠券 · 积分抵现 · 消费得积分 自动享受"


def store_poster_png(store: Store, *, guide: Staff | None = None, pay: bool = False) -> bytes:
    """The store's join poster, or with `pay` its pay poster; with a `guide`, that guide's
    own poster (their name under the store's, and a code that credits them)."""
    poster = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(poster)
    draw.rectangle([0, 0, WIDTH, 260], fill=BRAND_RED)
    centered_text(draw, settings.BRAND_NAME, y=80, size=96, fill="white")
    centered_text(draw, store.name, y=330, size=72, fill=INK)
    headline, benefits = _headlines(store, pay)
    centered_text(draw, headline, y=440, size=56, fill=BRAND_RED)
    centered_text(draw, benefits, y=520, size=40, fill=GREY)

    if pay:
        url = store_pay_url(store, guide)
    else:
        url = guide_join_url(guide) if guide else store_join_url(store)
    code = qr_image(url, box_size=1, border=2)
    scale = QR_SIZE // code.width  # a whole number of pixels per module keeps it crisp
    code = code.resize((code.width * scale, code.height * scale), Image.NEAREST)
    poster.paste(code, ((WIDTH - code.width) // 2, 610 + (QR_SIZE - code.height) // 2))

    centered_text(draw, store.full_address, y=1490, size=36, fill=GREY)
    footer = f"门店编号 {store.code}"
    if guide:
        footer += f" · 导购 {guide.user.display_name}（{guide.guide_code}）"
    centered_text(draw, footer, y=1560, size=36, fill=GREY)
    return png_bytes(poster)


def centered_text(
    draw: ImageDraw.ImageDraw, text: str, *, y: int, size: int, fill, width: int = WIDTH
) -> None:
    """`text` centred on a poster `width` wide at `y`, made smaller until it fits."""
    font = cjk_font(size)
    while size > 20 and draw.textlength(text, font=font) > width - 120:
        size -= 4
        font = cjk_font(size)
    draw.text((width // 2, y), text, font=font, fill=fill, anchor="mt")
