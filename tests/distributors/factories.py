import factory

from apps.distributors.models import Distributor, Region


class RegionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Region
        django_get_or_create = ["code"]

    code = "EAST"
    name = "华东"


class DistributorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Distributor

    code = factory.Sequence(lambda n: f"D{n:03d}")
    name = factory.Faker("company", locale="zh_CN")
    region = factory.SubFactory(RegionFactory)
