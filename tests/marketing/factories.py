import factory

from apps.marketing.models import MessageTemplate


class MessageTemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MessageTemplate

    name = factory.Sequence(lambda n: f"会员日提醒 #{n}")
    channel = "inbox"
    purpose = "marketing"
    title = "{name}，会员日到了"
    body = "{tier}专享：您有 {points} 积分，{store}等您。"
    link = "/m/coupons"
