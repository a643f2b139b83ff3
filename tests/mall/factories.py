import factory

from apps.core.categories import SEPARATOR
from apps.mall.models import Category, Product, Sku


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category
        django_get_or_create = ("name", "parent")

    name = factory.Sequence(lambda n: f"类目{n}")
    parent = None


def category_of(path: str) -> Category:
    """The category of a path, "上衣/T恤" or "上衣", made if missing."""
    parent = None
    for name in path.split(SEPARATOR):
        parent = CategoryFactory(name=name, parent=parent)
    return parent


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    title = factory.Sequence(lambda n: f"商品{n}")
    category = factory.LazyFunction(lambda: category_of("其他"))


class SkuFactory(factory.django.DjangoModelFactory):
    """A SKU; with `name`, `category` and `members_only` its product is made to match, as a
    one-SKU product: SkuFactory(sku="TEE", name="T恤", category="上衣", price=99)."""

    class Meta:
        model = Sku
        exclude = ["name", "category", "members_only"]

    sku = factory.Sequence(lambda n: f"SKU-T{n:04d}")
    price = 99
    name = factory.LazyAttribute(lambda o: f"商品 {o.sku}")
    category = "其他"
    members_only = False
    product = factory.LazyAttribute(
        lambda o: ProductFactory(
            title=o.name, category=category_of(o.category), members_only=o.members_only
        )
    )
