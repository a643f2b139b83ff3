"""The README's pictures of the member web centre, taken from the demo brand: a store's
landing page and the demo member's card. The test checks what they show; with
UPDATE_SCREENSHOTS=1 it also writes them to docs/member-centre/."""

import os
import re
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from playwright.sync_api import expect

from apps.core.roles import HQ_ROLES
from tests.browser.test_member_centre import sign_in

pytestmark = pytest.mark.django_db(transaction=True)

PICTURES = Path(__file__).resolve().parents[2] / "docs" / "member-centre"


def picture(page, name: str) -> None:
    if os.environ.get("UPDATE_SCREENSHOTS"):
        PICTURES.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=PICTURES / f"{name}.png")


def test_the_store_landing_and_the_demo_members_card(phone):
    # seed_demo gives its staff the HQ roles the migrations made, which an earlier
    # transactional test's flush took away
    for role in HQ_ROLES:
        Group.objects.get_or_create(name=role)
    call_command("seed_demo", "--members", "30", stdout=StringIO())
    page = phone

    page.goto("/s/S001/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    picture(page, "store-landing")

    page.goto("/m/login?next=/m/")
    sign_in(page)
    expect(page).to_have_url(page.url.split("/m/")[0] + "/m/")
    expect(page.locator("#points-available")).to_have_text("5000")
    expect(page.locator("#tier-name")).to_have_text("黄金会员")  # as API.md promises
    expect(page.locator("#benefits")).to_contain_text("生日礼：生日礼券 20 元")
    expect(page.locator("#growth")).to_contain_text("升级为 铂金会员")
    expect(page.locator("#keep")).to_contain_text("黄金会员")
    expect(page.locator("img[alt]").first).to_be_visible()
    picture(page, "card")


def test_s001s_mall_and_the_checkout_of_the_demo_member(phone):
    for role in HQ_ROLES:
        Group.objects.get_or_create(name=role)
    call_command("seed_demo", "--members", "30", stdout=StringIO())
    page = phone

    page.goto("/m/login?next=/m/s/S001/")
    sign_in(page)
    expect(page.locator("#home-store")).to_have_text("欢迎！会籍优选·上海恒隆店 是您的归属门店。")
    expect(page.locator("#pay-link")).to_be_visible()
    expect(page.locator("#featured-list li").first).to_be_visible()
    expect(page.locator("#product-list li img").first).to_be_visible()
    page.locator("#mall-title").evaluate("title => title.scrollIntoView()")
    picture(page, "mall")

    page.locator("#featured-list a").first.click()
    page.get_by_role("button", name="加入购物车").click()
    expect(page.get_by_role("status")).to_contain_text("已加入")
    page.goto("/m/checkout")
    expect(page.locator("#quote [data-sum=payable]")).to_have_text(re.compile(r"¥\d+\.\d\d"))
    expect(page.locator("#coupon-list .why").first).not_to_be_empty()
    page.get_by_label(re.compile("使用积分")).check()
    expect(page.locator("#quote .applied")).to_contain_text("积分")
    page.locator("#checkout-form fieldset").first.evaluate("part => part.scrollIntoView()")
    picture(page, "checkout")
