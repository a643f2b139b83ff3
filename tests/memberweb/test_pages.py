"""The member web centre's pages as served: their security policy, and nothing in them or
their scripts and styles that reaches another origin."""

import json
import re
from pathlib import Path

import pytest

PAGES = [
    "/m/",
    "/m/login",
    "/m/coupons",
    "/m/coupons/claim",
    "/m/points",
    "/m/orders",
    "/m/orders/P20261203000001",
    "/m/me",
    "/m/s/S002/",
    "/m/s/S002/pay",
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


@pytest.mark.parametrize("path", ["/m/s/S002/", "/m/s/S002/pay", "/m/"])
def test_the_first_pages_weigh_under_150_kb(client, path):
    assert _page_weight(client, path) < 150 * 1024
