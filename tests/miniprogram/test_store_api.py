import pytest

from tests.stores.factories import StoreFactory

pytestmark = pytest.mark.django_db


def test_store_card_is_public(api_client):
    StoreFactory(
        code="S002",
        name="杭州文三路店",
        kind="franchise",
        province="浙江省",
        city="杭州市",
        district="西湖区",
        address="文三路478号",
    )

    response = api_client.get("/api/v1/stores/s002")

    assert response.status_code == 200
    assert response.json() == {
        "code": "S002",
        "name": "杭州文三路店",
        "address": "浙江省杭州市西湖区文三路478号",
        "kind": "franchise",
    }


def test_unknown_store_is_not_found(api_client):
    response = api_client.get("/api/v1/stores/S999")

    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "message": "门店 S999 不存在。"}
