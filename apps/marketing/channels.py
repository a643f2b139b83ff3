"""The channels a message leaves by: texts through the SMS backend sign-in codes use
(apps.core.sms, SMS_BACKEND), WeChat subscription messages through WECHAT_MESSAGE_BACKEND.
The inbox needs no backend: a sent inbox message is the row itself.

`message_deliver` sends one message and answers an Attempt: the provider's id of the message
it took, or the error to record (a provider's error code, or an exception's class name: its
text could quote the message), whether the provider answered that error (it is up: one
member's error never counts as the provider down), whether it refused the message for
good (a WeChat user with no subscription, an openid not of this mini-program: trying again
changes nothing), and whether it had the message and did not answer in time (it may have
gone: never sent again). It is called outside any transaction.

A WeChat backend's `send` takes the template's fields filled in and cut to WeChat's lengths
(`data`), and answers WeChat's id of the message, or "" when it has none."""

import logging
import sys
from typing import NamedTuple

from django.conf import settings
from django.utils.module_loading import import_string

from apps.core.phones import mask_phone
from apps.core.sms import ApprovedTemplate, SmsNotSent, sms_backend
from apps.marketing.rules import (
    SMS,
    WECHAT,
    render,
    variables_used,
    wechat_fields,
    wechat_value,
)

logger = logging.getLogger(__name__)


class WechatMessageNotSent(Exception):
    """WeChat refused a subscription message; `reason` is its error code, safe to log;
    `refused`: the member accepts no such message (no subscription), so no retry;
    `answered`: WeChat answered with an error of this message's own (it is up);
    `final`: that error is for good (an openid not of this app, data WeChat rejects);
    `interrupted`: WeChat had the message and did not answer in time: it may have gone."""

    def __init__(
        self,
        reason: str,
        *,
        refused: bool = False,
        answered: bool = False,
        final: bool = False,
        interrupted: bool = False,
    ):
        super().__init__(reason)
        self.reason = reason
        self.refused = refused
        self.answered = answered or refused or final
        self.final = final
        self.interrupted = interrupted


# WeChat's error code for a member with no subscription to the template left.
WECHAT_NO_SUBSCRIPTION = "43101"


class ConsoleWechatMessageBackend:
    """Prints the message where whoever runs the server can read it: the demo's WeChat."""

    stand_in = True

    def send(self, *, openid: str, template_id: str, title: str, body: str, page: str,
             data: dict[str, str]) -> str:  # fmt: skip
        sys.stdout.write(f"[WeChat message {template_id} to {openid}] {title} {body} {page}\n")
        sys.stdout.flush()
        return ""


class LocmemWechatMessageBackend:
    """Keeps what it is given in `outbox`, for tests; an openid in `refusing` is refused."""

    stand_in = True
    outbox: list[dict] = []
    refusing: set[str] = set()

    def send(self, *, openid: str, template_id: str, title: str, body: str, page: str,
             data: dict[str, str]) -> str:  # fmt: skip
        if openid in self.refusing:
            raise WechatMessageNotSent(WECHAT_NO_SUBSCRIPTION, refused=True)
        self.outbox.append(
            {"openid": openid, "template_id": template_id, "title": title, "body": body,
             "page": page, "data": data}
        )  # fmt: skip
        return f"locmem-{len(self.outbox)}"


class Outgoing(NamedTuple):
    """A claimed message as a channel needs it."""

    pk: int
    channel: str
    address: str  # a mobile number or a WeChat openid
    provider_template: str  # the SMS provider's or WeChat's template id
    template_body: str  # the template's text, whose variables are the SMS parameters
    wechat_fields: str  # the WeChat template's fields, "thing1: {coupon}" a line
    title: str
    body: str
    link: str
    values: dict


def channel_on(channel: str) -> bool:
    """WeChat messages go only where WECHAT_MESSAGE_BACKEND names a backend: empty turns the
    channel off (a production site with no real backend yet); SMS and the inbox are always on."""
    return channel != WECHAT or bool(settings.WECHAT_MESSAGE_BACKEND)


class Attempt(NamedTuple):
    """What came of one try at sending a message."""

    error: str | None = None  # None: the provider took it
    refused: bool = False  # the member accepts no such message (no subscription): no retry
    provider_id: str = ""  # the provider's id of the message it took
    answered: bool = False  # the provider answered the error: it is up, whatever it said
    final: bool = False  # the provider will never take this message: failed, no retry
    interrupted: bool = False  # the provider had it and did not answer: it may have gone


def message_deliver(message: Outgoing) -> Attempt:
    refused = answered = final = interrupted = False
    try:
        if message.channel == SMS:
            names = variables_used(message.template_body)
            provider_id = sms_backend().send(
                message.address,
                message.body,
                {name: str(message.values.get(name, "")) for name in names},
                ApprovedTemplate(message.provider_template, names),
            )
        elif message.channel == WECHAT:
            provider_id = import_string(settings.WECHAT_MESSAGE_BACKEND)().send(
                openid=message.address,
                template_id=message.provider_template,
                title=message.title,
                body=message.body,
                page=message.link,
                data={
                    field: wechat_value(field, render(text, message.values))
                    for field, text in wechat_fields(message.wechat_fields)
                },
            )
        else:
            raise ValueError(f"no backend for channel {message.channel!r}")
    except SmsNotSent as exc:
        error, answered, interrupted = exc.reason, exc.answered, exc.interrupted
    except WechatMessageNotSent as exc:
        error, refused, answered = exc.reason, exc.refused, exc.answered
        final, interrupted = exc.final, exc.interrupted
    except Exception as exc:  # a network error, a provider's library raising its own
        error = type(exc).__name__
    else:
        return Attempt(provider_id=str(provider_id or ""))
    shown = mask_phone(message.address) if message.channel == SMS else f"#{message.pk}"
    logger.warning("Message #%s to %s not sent: %s", message.pk, shown, error)
    return Attempt(
        error=error, refused=refused, answered=answered, final=final, interrupted=interrupted
    )
