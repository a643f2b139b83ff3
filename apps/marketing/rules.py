"""What a message says and whether it may go now: pure rules, no database.

A template's text names variables in braces, `{name}`; rendering replaces each with its
value in one pass over the template, so a value (a member's name, say) is never read as a
template itself, and any other brace in a template is refused when HQ saves it."""

import re
from collections.abc import Mapping
from datetime import datetime, time, timedelta

VARIABLES = ("name", "tier", "points", "coupon", "store", "link")
_BRACED = re.compile(r"\{([^{}]*)\}")

SMS, WECHAT, INBOX = "sms", "wechat", "inbox"
# Channels that reach a member's phone at once, and so wait for quiet hours to end.
PUSHED = (SMS, WECHAT)
ALL = "all"  # the caps over every channel


def unknown_variables(text: str) -> list[str]:
    """The names in braces that are not variables, and any unpaired brace, in order."""
    unknown = [name for name in _BRACED.findall(text) if name not in VARIABLES]
    leftover = _BRACED.sub("", text)
    unknown += [brace for brace in "{}" if brace in leftover]
    return list(dict.fromkeys(unknown))


def variables_used(text: str) -> tuple[str, ...]:
    """The variables a text names, in the order they first appear (an SMS provider's
    template takes its parameters in this order)."""
    return tuple(dict.fromkeys(name for name in _BRACED.findall(text) if name in VARIABLES))


def render(text: str, values: Mapping[str, object]) -> str:
    """The text with each variable replaced by its value ("" when it has none)."""

    def value(match: re.Match) -> str:
        found = values.get(match.group(1))
        return "" if found is None else str(found)

    return _BRACED.sub(value, text)


def pieces(text: str) -> list[tuple[str, str | None]]:
    """The text as `render` reads it: (literal text, None) and ("", variable name) pieces in
    order, for rendering it in SQL (apps.marketing.outbox)."""
    found, at = [], 0
    for match in _BRACED.finditer(text):
        if match.start() > at:
            found.append((text[at : match.start()], None))
        found.append(("", match.group(1)))
        at = match.end()
    if at < len(text):
        found.append((text[at:], None))
    return found


def quiet_hours(setting: str) -> tuple[time, time] | None:
    """ "21:00-08:00" → (21:00, 08:00); "" → None."""
    if not setting.strip():
        return None
    start, end = (time.fromisoformat(part.strip()) for part in setting.split("-"))
    return start, end


def quiet_hours_end(local_now: datetime, hours: tuple[time, time] | None) -> datetime | None:
    """When the quiet hours `local_now` falls in end, or None outside them (or with none)."""
    if hours is None:
        return None
    start, end = hours
    clock = local_now.timetz().replace(tzinfo=None)
    at_end = local_now.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
    if start <= end:  # within one day, e.g. 12:00-14:00
        return at_end if start <= clock < end else None
    if clock >= start:  # spans midnight: the evening part
        return at_end + timedelta(days=1)
    return at_end if clock < end else None


def caps(setting: str) -> dict[str, tuple[int, int]]:
    """ "sms=1/3,all=3/10" → {"sms": (1, 3), "all": (3, 10)}: (per day, per 7 days), 0 none."""
    found = {}
    for part in filter(None, (piece.strip() for piece in setting.split(","))):
        scope, limits = part.split("=")
        day, week = limits.split("/")
        found[scope.strip()] = (int(day), int(week))
    return found


def cap_reached(
    channel: str, sent: Mapping[tuple[str, str], int], limits: Mapping[str, tuple[int, int]]
) -> str | None:
    """The cap a marketing message in `channel` would pass, given the member's marketing
    messages already sent, `sent[(channel or "all", "day" or "week")]`; None if none."""
    for scope, (day_reason, week_reason) in (
        (channel, ("cap_channel_day", "cap_channel_week")),
        (ALL, ("cap_day", "cap_week")),
    ):
        day, week = limits.get(scope, (0, 0))
        if day and sent.get((scope, "day"), 0) >= day:
            return day_reason
        if week and sent.get((scope, "week"), 0) >= week:
            return week_reason
    return None


def message_decision(
    *,
    channel: str,
    channel_on: bool,
    marketing: bool,
    active: bool,
    consent: bool,
    reachable: bool,
    subscribed: bool,
    quiet_until: datetime | None,
    cap: str | None,
) -> tuple[str, str]:
    """("send", ""), ("hold", "quiet_hours") or ("refuse", reason) for one message now.

    `channel_on`: this site has a backend for the channel (channels.channel_on);
    `reachable`: the member has the channel's address (a mobile number, a WeChat openid);
    `subscribed`: a one-time WeChat subscription is left for the template (WeChat only);
    `cap`: the cap this message would pass (cap_reached). Transactional messages (codes,
    order and pickup notices) need no consent, wait for no quiet hours and pass every cap."""
    if not active:
        return "refuse", "closed"
    if not channel_on:
        return "refuse", "channel_off"
    if marketing and not consent:
        return "refuse", "no_consent"
    if not reachable:
        return "refuse", {SMS: "no_phone", WECHAT: "no_openid"}[channel]
    if channel == WECHAT and not subscribed:
        return "refuse", "no_subscription"
    if marketing and quiet_until is not None and channel in PUSHED:
        return "hold", "quiet_hours"
    if marketing and cap:
        return "refuse", cap
    return "send", ""


def retry_delay(attempts: int, first_seconds: int) -> timedelta:
    """The wait before the next try after `attempts` failed ones: doubling, at most a day."""
    return timedelta(seconds=min(first_seconds * 2 ** (attempts - 1), 86400))


# A WeChat subscription message's template fields: "thing1", "time2"… Each kind takes values
# of its own form (subscribeMessage.send); a value longer than its kind allows is refused by
# WeChat (47003), so the kinds with a length are cut to it. Numbers, amounts, times and dates
# are never cut: a shorter one would say something else.
WECHAT_FIELD = re.compile(
    r"(thing|number|letter|symbol|character_string|time|date|amount|phone_number|car_number"
    r"|name|phrase)[0-9]+"
)
WECHAT_FIELD_LENGTHS = {
    "thing": 20,
    "letter": 32,
    "symbol": 5,
    "character_string": 32,
    "phone_number": 17,
    "car_number": 8,
    "phrase": 5,
}
WECHAT_NAME_LENGTHS = (10, 20)  # Chinese characters, or else letters and symbols


def wechat_fields(text: str) -> list[tuple[str, str]]:
    """ "thing1: {coupon}\\ntime2: 12月31日" → [("thing1", "{coupon}"), ("time2", "12月31日")];
    ValueError naming the first line that is not "field: text" with a WeChat field."""
    fields = []
    for line in filter(None, (line.strip() for line in text.splitlines())):
        key, colon, value = line.partition(":")
        if not colon or not WECHAT_FIELD.fullmatch(key.strip()):
            raise ValueError(line)
        fields.append((key.strip(), value.strip()))
    return fields


def wechat_value(field: str, value: str) -> str:
    """`value` cut to what WeChat takes in `field`; a cut thing ends with "…"."""
    kind = WECHAT_FIELD.fullmatch(field).group(1)
    if kind == "name":
        chinese, other = WECHAT_NAME_LENGTHS
        most = other if value.isascii() else chinese
    else:
        most = WECHAT_FIELD_LENGTHS.get(kind)
    if most is None or len(value) <= most:
        return value
    return value[: most - 1] + "…" if kind == "thing" else value[:most]
