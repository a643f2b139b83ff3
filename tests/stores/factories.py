import factory

from apps.stores.models import Staff, Store
from apps.stores.services import pos_key_create
from tests.core.factories import UserFactory


class StoreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Store

    code = factory.Sequence(lambda n: f"T{n:03d}")
    name = factory.Sequence(lambda n: f"测试门店{n}")
    kind = Store.Kind.DIRECT
    province = "上海市"
    city = "上海市"
    district = "静安区"
    address = factory.Faker("street_address", locale="zh_CN")


class StaffFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Staff

    user = factory.SubFactory(UserFactory)
    store = factory.SubFactory(StoreFactory)
    role = Staff.Role.OWNER


def pos_key_for(store) -> str:
    """A working POS API key for `store` (the raw key)."""
    _key, raw_key = pos_key_create(store=store, name="测试收银台")
    return raw_key
