"""POS API keys: one per till, stored hashed, shown once, revocable; `Api-Key` auth."""

import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from apps.core.models import AuditEntry
from apps.stores.models import PosApiKey, Store
from apps.stores.selectors import pos_key_active
from apps.stores.services import pos_key_create, pos_key_revoke
from tests.stores.factories import StoreFactory, pos_key_for

pytestmark = pytest.mark.django_db

URL = "/api/pos/v1/store"


@pytest.fixture
def store():
    return StoreFactory(code="S001", name="上海恒隆店")


def test_the_active_key_comes_whole_with_its_whole_store(store):
    key, raw_key = pos_key_create(store=store, name="客如云")

    found = pos_key_active(raw_key)

    for model, built, stored in (
        (PosApiKey, found, PosApiKey.objects.get(pk=key.pk)),
        (Store, found.store, Store.objects.get(pk=store.pk)),
    ):
        for field in model._meta.concrete_fields:
            assert getattr(built, field.attname) == getattr(stored, field.attname), field.name
    pos_key_revoke(key=key)
    assert pos_key_active(raw_key) is None


def test_valid_key_identifies_its_store(api_client, store):
    raw_key = pos_key_for(store)

    response = api_client.get(URL, HTTP_AUTHORIZATION=f"Api-Key {raw_key}")

    assert response.status_code == 200
    assert response.json()["code"] == "S001"
    assert response.json()["key_name"] == "测试收银台"
    assert PosApiKey.objects.get().last_used_at is not None


def test_only_a_hash_of_the_key_is_stored(store):
    key, raw_key = pos_key_create(store=store, name="till 1")

    assert raw_key.startswith("hj_") and len(raw_key) > 40
    stored = PosApiKey.objects.filter(pk=key.pk).values()[0]
    assert raw_key not in str(stored)
    assert stored["prefix"] == raw_key[:10]
    assert AuditEntry.objects.filter(action="pos_key.create", target_id=str(key.pk)).exists()


def test_revoked_key_is_refused(api_client, store):
    key, raw_key = pos_key_create(store=store, name="till 1")
    pos_key_revoke(key=key, reason="till stolen")

    response = api_client.get(
        URL, HTTP_AUTHORIZATION=f"Api-Key {raw_key}", HTTP_ACCEPT_LANGUAGE="en"
    )

    assert response.status_code == 401
    assert response.json() == {
        "code": "not_authenticated",
        "message": "This API key is unknown or has been revoked.",
    }


def test_revoking_twice_records_once(store):
    key, _raw = pos_key_create(store=store, name="till 1")

    pos_key_revoke(key=key)
    first_revoked_at = key.revoked_at
    pos_key_revoke(key=key)

    assert key.revoked_at == first_revoked_at
    assert AuditEntry.objects.filter(action="pos_key.revoke").count() == 1


@pytest.mark.parametrize(
    "header",
    ["Api-Key hj_not-a-real-key", "Api-Key", "Api-Key two parts", "Bearer abc", ""],
)
def test_unknown_malformed_or_missing_keys_are_refused(api_client, store, header):
    pos_key_for(store)

    response = api_client.get(URL, HTTP_AUTHORIZATION=header)

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert response["WWW-Authenticate"] == "Api-Key"


def test_key_is_not_touched_more_than_once_a_minute(api_client, store, django_assert_num_queries):
    raw_key = pos_key_for(store)
    api_client.get(URL, HTTP_AUTHORIZATION=f"Api-Key {raw_key}")

    with django_assert_num_queries(1):  # the key look-up, no write
        api_client.get(URL, HTTP_AUTHORIZATION=f"Api-Key {raw_key}")


def test_create_pos_key_command_prints_a_working_key(api_client, store):
    out, err = StringIO(), StringIO()

    call_command("create_pos_key", "s001", "--name", "客如云", stdout=out, stderr=err)

    raw_key = out.getvalue().strip()
    assert "S001" in err.getvalue()
    response = api_client.get(URL, HTTP_AUTHORIZATION=f"Api-Key {raw_key}")
    assert response.status_code == 200
    assert PosApiKey.objects.get().name == "客如云"


def test_create_pos_key_command_refuses_an_unknown_store(db):
    with pytest.raises(CommandError, match="S999"):
        call_command("create_pos_key", "S999", stdout=StringIO(), stderr=StringIO())
    assert PosApiKey.objects.count() == 0


def test_admin_shows_a_new_key_once_and_it_works(hq_client, api_client, store):
    response = hq_client.post(
        "/admin/stores/posapikey/add/", {"store": store.pk, "name": "收银台2"}
    )

    key = PosApiKey.objects.get()
    raw_key = re.search(r'value="(hj_[^"]+)"', response.content.decode()).group(1)
    assert api_client.get(URL, HTTP_AUTHORIZATION=f"Api-Key {raw_key}").status_code == 200
    page = hq_client.get(f"/admin/stores/posapikey/{key.pk}/change/").content.decode()
    assert raw_key not in page


def test_admin_revoke_action(hq_client, api_client, store):
    key, raw_key = pos_key_create(store=store, name="till")

    hq_client.post(
        "/admin/stores/posapikey/", {"action": "revoke", "_selected_action": [key.pk]}, follow=True
    )

    key.refresh_from_db()
    assert key.revoked_at is not None and key.revoked_at <= timezone.now()
    assert api_client.get(URL, HTTP_AUTHORIZATION=f"Api-Key {raw_key}").status_code == 401
