"""The channels a message leaves by: texts through the SMS backend sign-in codes use
(apps.core.sms, SMS_BACKEND), WeChat subscription messages through WECHAT_MESSAGE_BACKEND.
The inbox needs no backend: a sent inbox message is the row itself.

`message_deliver` sends one message and answers None, or the error to record: a provider's
error code, or an exception's class name (its text could quote the message). It is called
outside any transaction."""

import logging
import sys
from typing import NamedTuple

from django.conf import settings
from django.utils.module_loading import import_string

from apps.core.phones import mask_phone
from apps.core.sms import ApprovedTemplate, SmsNotSent, sms_backend
from apps.marketing.rules import SMS, WECHAT, variables_used

logger = logging.getLogger(__name__)


class WechatMessageNotSent(Exception):
    """WeChat refused a subscription message; `reason` is its error code, safe to log."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class ConsoleWechatMessageBackend:
    """Prints the message where whoever runs the server can read it: the demo's WeChat."""

    stand_in = True

    def send(self, *, openid: str, template_id: str, title: str, body: str, page: str,
             values: dict[str, str]) -> None:  # fmt: skip
        sys.stdout.write(f"[WeChat message {template_id} to {openid}] {title} {body} {page}\n")
        sys.stdout.flush()


class LocmemWechatMessageBackend:
    """Keeps what it is given in `outbox`, for tests; an openid in `refusing` is refused."""

    stand_in = True
    outbox: list[dict] = []
    refusing: set[str] = set()

    def send(self, *, openid: str, template_id: str, title: str, body: str, page: str,
             values: dict[str, str]) -> None:  # fmt: skip
        if openid in self.refusing:
            raise WechatMessageNotSent("43101")
        self.outbox.append(
            {"openid": openid, "template_id": template_id, "title": title, "body": body,
             "page": page, "values": values}
        )  # fmt: skip


class Outgoing(NamedTuple):
    """A claimed message as a channel needs it."""

    pk: int
    channel: str
    address: str  # a mobile number or a WeChat openid
    provider_template: str  # the SMS provider's or WeChat's template id
    template_body: str  # the template's text, whose variables are the SMS parameters
    title: str
    body: str
    link: str
    values: dict


def channel_on(channel: str) -> bool:
    """WeChat messages go only where WECHAT_MESSAGE_BACKEND names a backend: empty turns the
    channel off (a production site with no real backend yet); SMS and the inbox are always on."""
    return channel != WECHAT or bool(settings.WECHAT_MESSAGE_BACKEND)


def message_deliver(message: Outgoing) -> str | None:
    try:
        if message.channel == SMS:
            names = variables_used(message.template_body)
            sms_backend().send(
                message.address,
                message.body,
                {name: str(message.values.get(name, "")) for name in names},
                ApprovedTemplate(message.provider_template, names),
            )
        elif message.channel == WECHAT:
            import_string(settings.WECHAT_MESSAGE_BACKEND)().send(
                openid=message.address,
                template_id=message.provider_template,
                title=message.title,
                body=message.body,
                page=message.link,
                values=message.values,
            )
        else:
            raise ValueError(f"no backend for channel {message.channel!r}")
    except (SmsNotSent, WechatMessageNotSent) as exc:
        error = exc.reason
    except Exception as exc:  # a network error, a provider's library raising its own
        error = type(exc).__name__
    else:
        return None
    shown = mask_phone(message.address) if message.channel == SMS else f"#{message.pk}"
    logger.warning("Message #%s to %s not sent: %s", message.pk, shown, error)
    return error
