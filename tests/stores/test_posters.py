"""一店一码: the poster's QR really decodes to the store's join link."""

import io

import pytest
import zxingcpp
from PIL import Image

from apps.core.qr import cjk_font_path
from apps.stores.posters import store_poster_png
from tests.stores.factories import StaffFactory, StoreFactory

pytestmark = pytest.mark.django_db


def decode(png: bytes) -> list[str]:
    return [result.text for result in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]


def test_poster_qr_decodes_to_the_join_url(settings):
    settings.SITE_URL = "https://vip.example.cn"
    store = StoreFactory(code="S001", name="会籍优选·上海恒隆店")

    png = store_poster_png(store)

    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.size == (1240, 1754)
    assert decode(png) == ["https://vip.example.cn/s/S001/"]


def test_machine_has_a_chinese_font_for_posters():
    # bin/setup installs fonts-wqy-microhei; without it Chinese text would print as boxes.
    assert cjk_font_path() is not None


def test_hq_downloads_the_poster_from_the_admin(hq_client):
    store = StoreFactory(code="S002")

    response = hq_client.get(f"/admin/stores/store/{store.pk}/poster.png")

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert 'filename="poster-S002.png"' in response["Content-Disposition"]
    assert decode(response.content) == [f"{'http://127.0.0.1:8000'}/s/S002/"]


def test_store_people_cannot_download_from_the_admin(client):
    staff = StaffFactory()
    client.force_login(staff.user)

    response = client.get(f"/admin/stores/store/{staff.store.pk}/poster.png")

    assert response.status_code == 302  # to the admin login: store people are not HQ
    assert "/admin/login/" in response["Location"]


def test_the_join_url_opens_the_store_page_of_the_member_centre(client):
    StoreFactory(code="S001", name="会籍优选·上海恒隆店")

    page = client.get("/s/S001/")
    with_guide = client.get("/s/S001/?guide=G123")

    assert page.status_code == 302
    assert page["Location"] == "/m/s/S001/"
    assert with_guide["Location"] == "/m/s/S001/?guide=G123"


def test_the_pay_poster_decodes_to_the_stores_pay_page(settings):
    settings.SITE_URL = "https://vip.example.cn"
    store = StoreFactory(code="S002")
    guide = StaffFactory(store=store, role="guide")

    assert decode(store_poster_png(store, pay=True)) == ["https://vip.example.cn/m/s/S002/pay"]
    assert decode(store_poster_png(store, guide=guide, pay=True)) == [
        f"https://vip.example.cn/m/s/S002/pay?guide={guide.guide_code}"
    ]


def test_hq_sets_store_payment_and_downloads_the_pay_poster_from_the_admin(hq_client):
    store = StoreFactory(code="S002")

    form = hq_client.get(f"/admin/stores/store/{store.pk}/change/")
    response = hq_client.get(f"/admin/stores/store/{store.pk}/pay-poster.png")

    assert 'name="pay_enabled"' in form.content.decode()
    assert 'name="pay_tier_discount"' in form.content.decode()
    assert response.status_code == 200
    assert 'filename="pay-poster-S002.png"' in response["Content-Disposition"]
    assert decode(response.content) == ["http://127.0.0.1:8000/m/s/S002/pay"]
