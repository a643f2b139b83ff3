"""WeChat subscription messages (订阅消息) through WeChat's API, as the mini-program
(WECHAT_APP_ID, WECHAT_APP_SECRET): subscribeMessage.send, its access token from
getStableAccessToken kept in the cache until shortly before it expires.

The stable token's normal mode answers the token in force, or a new one once it has
expired, and never invalidates one another process holds; so a token WeChat calls invalid
or expired (40001, 42001) is asked for again, past the cache, once per message. A member
WeChat says has no subscription left (43101) is a refusal for good, and so are an openid
not of this mini-program (40003) and data WeChat rejects (47003): failed, never retried. Any
other answer, or the network, is an error the outbox retries; only the network, no answer,
an HTTP error or "system busy" (-1) count towards WeChat being down: an error code about
one message is WeChat up and answering. A message has WECHAT_MESSAGE_TIMEOUT_SECONDS in all,
for its up to four calls (token, send, and both again when the token is rejected): a send
WeChat had and did not answer in that time may have gone, and is never sent again
(interrupted); a call that could not start in time sent nothing, and is retried."""

import json
import logging
import time
import urllib.request

from django.conf import settings
from django.core.cache import cache
from django.views.decorators.debug import sensitive_variables

from apps.marketing.channels import WECHAT_NO_SUBSCRIPTION, WechatMessageNotSent

logger = logging.getLogger(__name__)

TOKEN_REJECTED = (40001, 42001)  # the access token is invalid, or expired
WECHAT_BUSY = -1  # 系统繁忙: the one error code that is WeChat not answering
# An openid not of this mini-program, data WeChat rejects: sent again, refused again.
REFUSED_FOR_GOOD = (40003, 47003)
TOKEN_MARGIN_SECONDS = 300  # a cached token is dropped this long before WeChat expires it
MINIPROGRAM_STATES = ("formal", "trial", "developer")


class WechatSubscribeMessageBackend:
    stand_in = False

    @classmethod
    def configuration_problems(cls) -> list[str]:
        problems = []
        if not (settings.WECHAT_APP_ID and settings.WECHAT_APP_SECRET):
            problems.append("WeChat messages need WECHAT_APP_ID and WECHAT_APP_SECRET.")
        if settings.WECHAT_MINIPROGRAM_STATE not in MINIPROGRAM_STATES:
            problems.append(f"WECHAT_MINIPROGRAM_STATE is one of {', '.join(MINIPROGRAM_STATES)}.")
        return problems

    def send(self, *, openid: str, template_id: str, title: str, body: str, page: str,
             data: dict[str, str]) -> str:  # fmt: skip
        """Send; WeChat's msgid of the message, or WechatMessageNotSent."""
        message = {
            "touser": openid,
            "template_id": template_id,
            "data": {field: {"value": value} for field, value in data.items()},
            "miniprogram_state": settings.WECHAT_MINIPROGRAM_STATE,
            "lang": "zh_CN",
        }
        if page:
            message["page"] = page
        deadline = time.monotonic() + settings.WECHAT_MESSAGE_TIMEOUT_SECONDS
        try:
            answer = _post_as_app("cgi-bin/message/subscribe/send", message, deadline)
        except _NoAnswer:
            # WeChat had the message and did not answer: it may have gone, never send again
            raise WechatMessageNotSent("timeout", interrupted=True) from None
        errcode = answer.get("errcode") or 0
        if errcode == 0:
            return str(answer.get("msgid") or "")
        if str(errcode) == WECHAT_NO_SUBSCRIPTION:
            raise WechatMessageNotSent(WECHAT_NO_SUBSCRIPTION, refused=True)
        raise WechatMessageNotSent(
            str(errcode), answered=errcode != WECHAT_BUSY, final=errcode in REFUSED_FOR_GOOD
        )


def _post_as_app(path: str, body: dict, deadline: float) -> dict:
    """WeChat's answer to `body` posted to `path` with the access token; the token asked
    for again, once, when WeChat rejects it. _NoAnswer when WeChat had the request and did
    not answer by `deadline`."""
    answer = _post(path, body, deadline, token=access_token(deadline=deadline))
    if answer.get("errcode") in TOKEN_REJECTED:
        logger.info(
            "WeChat rejected its access token (errcode %s): asking again", answer["errcode"]
        )
        token = access_token(cached=False, deadline=deadline)
        answer = _post(path, body, deadline, token=token)
    return answer


def _token_key() -> str:
    return f"wechat:stable-token:{settings.WECHAT_APP_ID}"


@sensitive_variables("answer", "token")
def access_token(*, cached: bool = True, deadline: float) -> str:
    """The mini-program's access token, from the cache or else from WeChat by `deadline`."""
    if cached and (token := cache.get(_token_key())):
        return token
    try:
        answer = _post(
            "cgi-bin/stable_token",
            {
                "grant_type": "client_credential",
                "appid": settings.WECHAT_APP_ID,
                "secret": settings.WECHAT_APP_SECRET,
                "force_refresh": False,
            },
            deadline,
        )
    except _NoAnswer:
        raise WechatMessageNotSent("timeout") from None  # no message went
    token = answer.get("access_token")
    if not token or not isinstance(token, str):
        raise WechatMessageNotSent(f"stable_token {answer.get('errcode')}")
    expires_in = int(answer.get("expires_in") or 0)
    cache.set(_token_key(), token, max(expires_in - TOKEN_MARGIN_SECONDS, 60))
    return token


class _NoAnswer(Exception):
    """WeChat had the request (it was sent) and gave no answer in time."""


@sensitive_variables("body", "token", "url")  # the app secret, the access token
def _post(path: str, body: dict, deadline: float, *, token: str | None = None) -> dict:
    """WeChat's JSON answer to `body` posted to `path`, each wait on the network at most
    until `deadline`; _NoAnswer when the request went and no answer came by then;
    WechatMessageNotSent when it could not go (the network, `deadline` already passed, no
    connection in time), for an HTTP error or an answer that is not a JSON object."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise WechatMessageNotSent("timeout")
    url = f"{settings.WECHAT_API_BASE.rstrip('/')}/{path}"
    if token is not None:
        url += f"?access_token={token}"
    request = urllib.request.Request(
        url,
        data=json.dumps(body, ensure_ascii=False).encode(),
        headers={"Content-Type": "application/json; charset=utf-8"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=left) as reply:
            answer = json.load(reply)
    except TimeoutError:
        # urllib raises a timeout to connect or send as URLError: this one came after
        raise _NoAnswer() from None
    except (OSError, ValueError) as exc:  # unreachable, an HTTP error, not JSON
        raise WechatMessageNotSent(type(exc).__name__) from None
    if not isinstance(answer, dict):
        raise WechatMessageNotSent("not a JSON object")
    return answer
