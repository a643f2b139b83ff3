import factory

from apps.members.credentials import member_token_issue
from apps.members.models import Member


class MemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Member

    phone = factory.Sequence(lambda n: f"186{n:08d}")
    name = factory.Faker("name", locale="zh_CN")
    source = "miniprogram"


def member_client(api_client, member):
    """`api_client` signed in as `member`, as the mini-program would be."""
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {member_token_issue(member=member)}")
    return api_client
