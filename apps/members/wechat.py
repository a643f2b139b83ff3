"""WeChat mini-program login (code → openid), behind WECHAT_PROVIDER.

The fake provider, the embedded default, turns any code into a stable openid, so the demo
and the tests can sign in with WeChat: a stand-in, refused at start in production
(apps/core/checks.py). The real one asks WeChat's jscode2session at WECHAT_API_BASE.
"""

import hashlib
import json
import logging
import urllib.parse
import urllib.request
from dataclasses import dataclass

from django.conf import settings
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables

from apps.core.errors import Invalid

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class WechatUser:
    openid: str
    unionid: str = ""


class WechatLoginFailed(Invalid):
    default_message = _("WeChat did not accept this login code. Please try again.")


class FakeWechatProvider:
    stand_in = True

    def code_to_user(self, code: str) -> WechatUser:
        digest = hashlib.sha256(code.encode()).hexdigest()
        return WechatUser(
            openid=f"fake-openid-{digest[:20]}", unionid=f"fake-unionid-{digest[20:40]}"
        )


class WechatProvider:
    """jscode2session of the WeChat mini-program API, with WECHAT_APP_ID and WECHAT_APP_SECRET."""

    stand_in = False
    timeout_seconds = 5

    @classmethod
    def configuration_problems(cls) -> list[str]:
        if settings.WECHAT_APP_ID and settings.WECHAT_APP_SECRET:
            return []
        return ["WeChat login needs WECHAT_APP_ID and WECHAT_APP_SECRET."]

    @sensitive_variables("query", "url")  # they hold the app secret
    def code_to_user(self, code: str) -> WechatUser:
        query = urllib.parse.urlencode(
            {
                "appid": settings.WECHAT_APP_ID,
                "secret": settings.WECHAT_APP_SECRET,
                "js_code": code,
                "grant_type": "authorization_code",
            }
        )
        url = f"{settings.WECHAT_API_BASE.rstrip('/')}/sns/jscode2session?{query}"
        try:
            with urllib.request.urlopen(url, timeout=self.timeout_seconds) as reply:
                answer = json.load(reply)
        except (OSError, ValueError) as exc:  # unreachable, timed out, an HTTP error, not JSON
            logger.warning("WeChat jscode2session failed: %s", type(exc).__name__)
            raise WechatLoginFailed() from exc
        openid = answer.get("openid") if isinstance(answer, dict) else None
        if not openid or not isinstance(openid, str):
            errcode = answer.get("errcode") if isinstance(answer, dict) else None
            logger.warning("WeChat jscode2session refused the code: errcode %s", errcode)
            raise WechatLoginFailed()
        unionid = answer.get("unionid")
        return WechatUser(openid=openid, unionid=unionid if isinstance(unionid, str) else "")


def wechat_provider():
    return import_string(settings.WECHAT_PROVIDER)()
