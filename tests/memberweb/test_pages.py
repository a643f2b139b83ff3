"""The member web centre's pages as served: their security policy, and nothing in them or
their scripts and styles that reaches another origin."""

import json
import re
from pathlib import Path

import pytest

from tests.referrals.factories import promoter_of

PAGES = [
    "/m/",
    "/m/login",
    "/m/coupons",
    "/m/coupons/claim",
    "/m/points",
    "/m/orders",
    "/m/orders/P20261203000001",
    "/m/me",
    "/m/inbox",
    "/m/promoter",
    "/m/s/S002/",
    "/m/s/S002/pay",
    "/m/mall",
    "/m/products/1?store=S002",
    "/m/cart",
    "/m/checkout",
]
STATIC = Path(__file__).resolve().parents[2] / "static" / "m"
POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'; object-src 'none'"
)


def _directives(header: str) -> dict[str, str]:
    return dict(part.strip().split(" ", 1) for part in header.split(";"))


@pytest.mark.parametrize("path", PAGES)
def test_every_member_page_is_served_with_a_strict_policy(client, path):
    response = client.get(path)

    assert response.status_code == 200
    assert _directives(response["Content-Security-Policy"]) == _directives(POLICY)
    assert response["Cache-Control"] == "no-store"


def test_other_pages_keep_their_inline_scripts_and_styles_working(client):
    """The admin, the dashboards and the API docs use inline code: no policy there."""
    for path in ["/dashboard/login/", "/admin/login/", "/api/docs/"]:
        response = client.get(path)
        assert response.status_code == 200, path
        assert "Content-Security-Policy" not in response


@pytest.mark.parametrize("path", PAGES)
def test_a_member_page_names_no_other_origin_and_runs_no_inline_code(client, path):
    html = client.get(path).content.decode()

    assert not re.search(r"(src|href|action)=\"(https?:)?//", html)
    assert not re.search(r"<script(?![^>]*\b(src=|type=\"application/json\"))", html)
    assert not re.search(r"\son[a-z]+=|\sstyle=", html)


def test_the_scripts_and_styles_call_no_other_origin():
    for file in STATIC.rglob("*"):
        if file.suffix not in {".js", ".css"} or file.parent.name == "vendor":
            continue
        text = file.read_text()
        assert not re.search(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/", text, re.I), file
        assert "innerHTML" not in text and "eval(" not in text, file


def test_the_pages_words_are_in_both_languages(client):
    chinese = client.get("/m/", HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    english = client.get("/m/", HTTP_ACCEPT_LANGUAGE="en-US").content.decode()

    assert '<html lang="zh-hans">' in chinese and "会员卡" in chinese
    assert '<html lang="en">' in english and "Card" in english
    assert _script_words(chinese)["claimed"] == "已领取，已放入您的券包。"
    assert _script_words(english)["claimed"] == "Claimed: it is in your wallet."


def _script_words(html: str) -> dict:
    found = re.search(r'<script id="m-messages" type="application/json">(.*?)</script>', html)
    return json.loads(found.group(1))


def _page_weight(client, path: str) -> int:
    """The bytes of a page with everything it loads (styles, scripts and the modules they
    import), uncompressed: an upper bound of what goes over the wire."""
    html = client.get(path).content.decode()
    wanted = re.findall(r'(?:src|href)="/static/([^"]+)"', html)
    seen, total = set(), len(html.encode())
    while wanted:
        name = wanted.pop()
        if name in seen:
            continue
        seen.add(name)
        text = (STATIC.parent / name).read_bytes()
        total += len(text)
        if name.endswith(".js"):
            folder = name.rsplit("/", 1)[0]
            for imported in re.findall(rb'from "\./([^"]+)"', text):
                wanted.append(f"{folder}/{imported.decode()}")
    return total


@pytest.mark.parametrize(
    "path",
    [
        "/m/s/S002/",
        "/m/s/S002/pay",
        "/m/",
        "/m/products/1?store=S002",
        "/m/cart",
        "/m/checkout",
        "/m/orders/P20261203000001",
    ],
)
def test_the_first_pages_weigh_under_150_kb(client, path):
    assert _page_weight(client, path) < 150 * 1024


@pytest.mark.parametrize(
    ("path", "chinese", "english"),
    [
        ("/m/s/S002/", "门店商城", "The store's mall"),
        ("/m/products/1", "加入购物车", "Add to cart"),
        ("/m/cart", "去结算", "Check out"),
        ("/m/checkout", "快递到我的地址", "Delivery to my address"),
        ("/m/orders/P20261203000001", "申请退款", "Ask for a refund"),
        ("/m/mall", "商城", "Mall"),
    ],
)
def test_the_mall_pages_are_in_both_languages(client, path, chinese, english):
    zh = client.get(path, HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    en = client.get(path, HTTP_ACCEPT_LANGUAGE="en-US").content.decode()

    assert chinese in zh and english in en
    assert _script_words(zh)["stock_low"] == "仅剩少量"
    assert _script_words(en)["fulfilment_to_hand_over"] == "to pick up or ship"


def test_the_order_page_offers_every_refund_reason_in_the_members_language(client):
    zh = client.get("/m/orders/P20261203000001", HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    en = client.get("/m/orders/P20261203000001", HTTP_ACCEPT_LANGUAGE="en-US").content.decode()

    assert '<option value="damaged">破损或有质量问题</option>' in zh
    assert '<option value="changed_mind">changed my mind</option>' in en


def test_the_tabs_lead_to_the_mall_and_show_it_on_the_stores_page(client):
    store_page = client.get("/m/s/S002/").content.decode()
    card = client.get("/m/").content.decode()
    sign_in = client.get("/m/login").content.decode()

    assert 'href="/m/mall" aria-current="page"' in store_page
    assert 'href="/m/mall"' in card and 'href="/m/mall" aria-current' not in card
    assert 'href="/m/mall"' not in sign_in


def test_the_card_leads_to_the_promoter_page_in_both_languages(client):
    card = client.get("/m/").content.decode()
    zh = client.get("/m/promoter", HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    en = client.get("/m/promoter", HTTP_ACCEPT_LANGUAGE="en-US").content.decode()

    assert 'href="/m/promoter"' in card
    assert "申请成为推广员" in zh and "Apply to be a promoter" in en
    assert 'src="/static/m/js/promoter.js"' in zh
    assert _script_words(zh)["withdrawal_requested"] == "已申请"
    assert _script_words(en)["commission_frozen"] == "frozen"
    assert _script_words(en)["source_link"] == "shared link"


def test_the_promoter_page_says_how_to_confirm_a_withdrawal_wechat_awaits(client):
    zh = client.get("/m/promoter", HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    en = client.get("/m/promoter", HTTP_ACCEPT_LANGUAGE="en-US").content.decode()

    assert _script_words(zh)["withdrawal_confirming"] == "待确认收款"
    assert "24 小时内确认收款" in _script_words(zh)["withdrawal_confirm_how"]
    assert _script_words(en)["withdrawal_confirming"] == "awaiting confirmation in WeChat"
    assert "confirm receipt" in _script_words(en)["withdrawal_confirm_how"]
    assert 'data-confirm-page="/pages/promoter/withdrawals"' in zh


@pytest.mark.django_db
def test_the_promoter_page_hands_out_no_member_data(client):
    """The page is the same for everyone: its script reads the member's figures with their
    token."""
    promoter = promoter_of()
    html = client.get("/m/promoter").content.decode()

    assert promoter.member.referral_code not in html
    assert promoter.member.phone not in html
