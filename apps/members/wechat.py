"""WeChat logins (code → openid), behind WECHAT_PROVIDER: the mini-program's (jscode2session,
under WECHAT_APP_ID) and the official account's web OAuth (snsapi_base, under
WECHAT_OA_APP_ID), whose openid pays with WeChat Pay in WeChat's in-app browser.

The fake provider, the embedded default, turns any code into a stable openid, so the demo
and the tests can sign in with WeChat: a stand-in, refused at start in production
(apps/core/checks.py). The real one asks WeChat's API at WECHAT_API_BASE.
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


class WechatOaUnavailable(Invalid):
    default_message = _("This brand has no WeChat official account to sign in with.")


def oa_configuration_problems() -> list[str]:
    """The official account is optional; half of it is a mistake."""
    if settings.WECHAT_OA_APP_ID and not settings.WECHAT_OA_APP_SECRET:
        return ["WECHAT_OA_APP_ID is set: WeChat's web OAuth needs WECHAT_OA_APP_SECRET too."]
    return []


class FakeWechatProvider:
    stand_in = True

    def code_to_user(self, code: str) -> WechatUser:
        digest = hashlib.sha256(code.encode()).hexdigest()
        return WechatUser(
            openid=f"fake-openid-{digest[:20]}", unionid=f"fake-unionid-{digest[20:40]}"
        )

    def oa_code_to_openid(self, code: str) -> str:
        return f"fake-oa-openid-{hashlib.sha256(code.encode()).hexdigest()[:20]}"


class WechatProvider:
    """WeChat's API: jscode2session for the mini-program (WECHAT_APP_ID, WECHAT_APP_SECRET),
    the web OAuth for the official account (WECHAT_OA_APP_ID, WECHAT_OA_APP_SECRET)."""

    stand_in = False
    timeout_seconds = 5

    @classmethod
    def configuration_problems(cls) -> list[str]:
        problems = oa_configuration_problems()
        if not (settings.WECHAT_APP_ID and settings.WECHAT_APP_SECRET):
            problems.append("WeChat login needs WECHAT_APP_ID and WECHAT_APP_SECRET.")
        return problems

    def code_to_user(self, code: str) -> WechatUser:
        answer = self._ask(
            "jscode2session",
            appid=settings.WECHAT_APP_ID,
            secret=settings.WECHAT_APP_SECRET,
            js_code=code,
        )
        unionid = answer.get("unionid")
        return WechatUser(
            openid=answer["openid"], unionid=unionid if isinstance(unionid, str) else ""
        )

    def oa_code_to_openid(self, code: str) -> str:
        """The member's openid under the official account, from the code of WeChat's web
        OAuth (snsapi_base). A snapshot-page visitor (is_snapshotuser) is a virtual
        account, no one's: refused."""
        if not (settings.WECHAT_OA_APP_ID and settings.WECHAT_OA_APP_SECRET):
            raise WechatOaUnavailable()
        answer = self._ask(
            "oauth2/access_token",
            appid=settings.WECHAT_OA_APP_ID,
            secret=settings.WECHAT_OA_APP_SECRET,
            code=code,
        )
        if answer.get("is_snapshotuser") == 1:
            logger.warning("WeChat oauth2/access_token: a snapshot-page virtual account")
            raise WechatLoginFailed()
        return answer["openid"]

    @sensitive_variables("params", "query", "url")  # they hold the app secret
    def _ask(self, path: str, **params) -> dict:
        """WeChat's answer to GET /sns/{path}, a JSON object with a string openid; anything
        else (an errcode, the network, not JSON) is WechatLoginFailed."""
        query = urllib.parse.urlencode({**params, "grant_type": "authorization_code"})
        url = f"{settings.WECHAT_API_BASE.rstrip('/')}/sns/{path}?{query}"
        try:
            with urllib.request.urlopen(url, timeout=self.timeout_seconds) as reply:
                answer = json.load(reply)
        except (OSError, ValueError) as exc:  # unreachable, timed out, an HTTP error, not JSON
            logger.warning("WeChat %s failed: %s", path, type(exc).__name__)
            raise WechatLoginFailed() from exc
        openid = answer.get("openid") if isinstance(answer, dict) else None
        if not openid or not isinstance(openid, str):
            errcode = answer.get("errcode") if isinstance(answer, dict) else None
            logger.warning("WeChat %s refused the code: errcode %s", path, errcode)
            raise WechatLoginFailed()
        return answer


def wechat_provider():
    return import_string(settings.WECHAT_PROVIDER)()
