"""WeChat mini-program login (code → openid), behind WECHAT_PROVIDER.

The fake provider, the embedded default, turns any code into a stable openid, so the demo
and the tests can sign in with WeChat; the real one asks WeChat's servers.
"""

import hashlib
import json
import urllib.parse
import urllib.request
from dataclasses import dataclass

from django.conf import settings
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

from apps.core.errors import Invalid

_JSCODE2SESSION = "https://api.weixin.qq.com/sns/jscode2session"


@dataclass(frozen=True)
class WechatUser:
    openid: str
    unionid: str = ""


class WechatLoginFailed(Invalid):
    default_message = _("WeChat did not accept this login code. Please try again.")


class FakeWechatProvider:
    def code_to_user(self, code: str) -> WechatUser:
        digest = hashlib.sha256(code.encode()).hexdigest()
        return WechatUser(
            openid=f"fake-openid-{digest[:20]}", unionid=f"fake-unionid-{digest[20:40]}"
        )


class WechatProvider:
    """jscode2session of the WeChat mini-program API, with WECHAT_APP_ID and WECHAT_APP_SECRET."""

    timeout_seconds = 5

    def code_to_user(self, code: str) -> WechatUser:
        query = urllib.parse.urlencode(
            {
                "appid": settings.WECHAT_APP_ID,
                "secret": settings.WECHAT_APP_SECRET,
                "js_code": code,
                "grant_type": "authorization_code",
            }
        )
        try:
            with urllib.request.urlopen(
                f"{_JSCODE2SESSION}?{query}", timeout=self.timeout_seconds
            ) as reply:
                answer = json.load(reply)
        except (OSError, ValueError) as exc:
            raise WechatLoginFailed() from exc
        if not answer.get("openid"):
            raise WechatLoginFailed()
        return WechatUser(openid=answer["openid"], unionid=answer.get("unionid", ""))


def wechat_provider():
    return import_string(settings.WECHAT_PROVIDER)()
