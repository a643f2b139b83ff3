"""A POS key made in the HQ console is shown once, on the page that answers its creation,
and never travels in a message, the session or a cookie."""

import re

import pytest
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.contrib.sessions.models import Session

from apps.core import roles
from apps.stores import admin as stores_admin
from apps.stores.models import PosApiKey
from apps.stores.selectors import pos_key_active
from apps.stores.services import pos_key_create
from tests.core.factories import UserFactory
from tests.stores.factories import StoreFactory

pytestmark = pytest.mark.django_db

ADD = "/admin/stores/posapikey/add/"
KEY = re.compile(r'value="(hj_[A-Za-z0-9_-]{20,})"')


@pytest.fixture
def keys_made(monkeypatch):
    """The raw keys the console makes, as the service returns them (not as the page shows)."""
    made = []

    def pos_key_create_kept(**kwargs):
        key, raw_key = pos_key_create(**kwargs)
        made.append(raw_key)
        return key, raw_key

    monkeypatch.setattr(stores_admin, "pos_key_create", pos_key_create_kept)
    return made


def kept_anywhere(raw_key: str, response) -> list[str]:
    """Where the key would outlive this answer: session rows, messages for the next page."""
    places = [f"session {s.pk}" for s in Session.objects.all() if raw_key in str(s.get_decoded())]
    places += [f"message {m}" for m in get_messages(response.wsgi_request) if raw_key in str(m)]
    return places


def test_a_role_without_the_permission_makes_no_key(client):
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=roles.MARKETING))
    client.force_login(user)

    response = client.post(ADD, {"store": StoreFactory().pk, "name": "客如云"})

    assert response.status_code == 403
    assert not PosApiKey.objects.exists()


def test_a_form_with_errors_makes_and_shows_no_key(hq_client):
    response = hq_client.post(ADD, {"name": "客如云"})

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"store": ["该字段是必填项。"]}
    assert not PosApiKey.objects.exists()
    assert not KEY.search(response.content.decode())


def test_the_new_key_is_on_the_page_that_answers_its_creation(hq_client, keys_made):
    store = StoreFactory(code="S101", name="静安店")

    response = hq_client.post(ADD, {"store": store.pk, "name": "客如云"})

    assert response.status_code == 200
    page = response.content.decode()
    assert KEY.findall(page) == keys_made
    raw_key = keys_made[0]
    key = PosApiKey.objects.get()
    assert pos_key_active(raw_key) == key
    assert (key.store, key.name, key.prefix) == (store, "客如云", raw_key[:10])
    assert "请立即复制此密钥" in page and "它只显示这一次" in page
    assert "S101 静安店 的新密钥，用于 客如云" in page
    assert "no-store" in response["Cache-Control"]


def test_the_key_is_kept_in_no_cookie_session_or_message(hq_client, keys_made):
    response = hq_client.post(ADD, {"store": StoreFactory().pk, "name": "客如云"})
    [raw_key] = keys_made

    assert kept_anywhere(raw_key, response) == []
    # The only cookie set is the CSRF token that the page's sign-out form asks for.
    assert list(response.cookies) == ["csrftoken"]
    assert raw_key not in response.cookies["csrftoken"].value


def test_the_next_pages_do_not_show_the_key_again(hq_client, keys_made):
    hq_client.post(ADD, {"store": StoreFactory().pk, "name": "客如云"})
    [raw_key] = keys_made
    key = PosApiKey.objects.get()

    changelist = hq_client.get("/admin/stores/posapikey/")
    change = hq_client.get(f"/admin/stores/posapikey/{key.pk}/change/")

    assert changelist.status_code == change.status_code == 200
    for page in (changelist, change):
        assert raw_key not in page.content.decode()
        assert [str(m) for m in page.context["messages"]] == []
    assert key.prefix in changelist.content.decode()
