"""HQ writes templates in the console: unknown variables are refused, in Chinese and English."""

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from apps.core.models import AuditEntry
from apps.marketing.models import MessageTemplate
from apps.marketing.outbox import messages_queue
from tests.marketing.factories import MessageTemplateFactory
from tests.members.factories import MemberFactory

pytestmark = pytest.mark.django_db

FORM = {
    "name": "生日提醒",
    "channel": "inbox",
    "purpose": "marketing",
    "active": "on",
    "title": "{name}，生日快乐",
    "body": "送您 {coupon}，在 {store} 可用",
    "link": "/m/coupons",
    "wechat_template_id": "",
    "sms_template_id": "",
}


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("zh-hans", "未知变量：{phone}、{__class__}。消息可用的变量："),
        ("en", "Unknown variables: {phone}、{__class__}. A message may use "),
    ],
)
def test_unknown_variables_are_refused_in_each_language(language, message):
    template = MessageTemplate(
        name="x", channel="inbox", body="{name} {phone} {__class__}", title="{tier}"
    )

    with translation.override(language), pytest.raises(ValidationError) as refused:
        template.full_clean()

    assert list(refused.value.message_dict) == ["body"]
    [text] = refused.value.message_dict["body"]
    assert text.startswith(message) and "{name}、{tier}、{points}" in text


def test_a_wechat_template_needs_its_id_and_others_have_none():
    with pytest.raises(ValidationError) as wechat:
        MessageTemplate(name="w", channel="wechat", body="{name}").full_clean()
    with pytest.raises(ValidationError) as inbox:
        MessageTemplate(
            name="i", channel="inbox", body="{name}", wechat_template_id="TPL"
        ).full_clean()

    assert list(wechat.value.message_dict) == ["wechat_template_id", "wechat_fields"]
    assert list(inbox.value.message_dict) == ["wechat_template_id"]


def test_hq_saves_a_template_audited(hq_client):
    response = hq_client.post("/admin/marketing/messagetemplate/add/", FORM)

    assert response.status_code == 302
    template = MessageTemplate.objects.get()
    assert (template.title, template.body) == ("{name}，生日快乐", "送您 {coupon}，在 {store} 可用")
    assert AuditEntry.objects.filter(action="create", target_id=str(template.pk)).exists()


def test_the_console_refuses_an_unknown_variable_and_saves_nothing(hq_client):
    response = hq_client.post(
        "/admin/marketing/messagetemplate/add/",
        {**FORM, "body": "您的手机 {phone}"},
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )

    assert response.status_code == 200
    assert "未知变量：{phone}" in response.content.decode()
    assert not MessageTemplate.objects.exists()


def test_the_outbox_page_lists_messages_with_their_status_and_reason(hq_client):
    member = MemberFactory(marketing_consent=False)
    messages_queue(
        template=MessageTemplateFactory(), member_ids=[member.pk], cause_kind="t", cause_id=1
    )

    page = hq_client.get("/admin/marketing/message/", HTTP_ACCEPT_LANGUAGE="zh-hans")

    assert page.status_code == 200
    assert "未同意接收营销消息" in page.content.decode()
    assert "未发送" in page.content.decode()


WECHAT_FORM = {
    **FORM,
    "channel": "wechat",
    "wechat_template_id": "TPL-birthday",
    "wechat_fields": "thing1: {coupon}\r\ntime2: 2026年12月31日\r\n",
}


def test_hq_saves_a_wechat_template_with_its_fields(hq_client):
    response = hq_client.post("/admin/marketing/messagetemplate/add/", WECHAT_FORM)

    assert response.status_code == 302
    saved = MessageTemplate.objects.get()
    assert saved.wechat_fields == "thing1: {coupon}\r\ntime2: 2026年12月31日"


@pytest.mark.parametrize(
    ("fields", "shown"),
    [
        ("thing1 {coupon}", "“thing1 {coupon}”不是微信模板字段"),
        ("colour1: 红", "“colour1: 红”不是微信模板字段"),
        ("thing1: {phone}", "未知变量：{phone}"),
        ("", "微信消息需要填写模板字段"),
    ],
)
def test_the_console_refuses_wechat_fields_it_cannot_send(hq_client, fields, shown):
    response = hq_client.post(
        "/admin/marketing/messagetemplate/add/",
        {**WECHAT_FORM, "wechat_fields": fields},
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )

    assert response.status_code == 200
    assert shown in response.content.decode()
    assert not MessageTemplate.objects.exists()


def test_only_a_wechat_template_has_wechat_fields():
    with pytest.raises(ValidationError) as refused:
        MessageTemplate(
            name="i", channel="sms", body="{name}", wechat_fields="thing1: x"
        ).full_clean()

    assert list(refused.value.message_dict) == ["wechat_fields"]
