from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from apps.marketing import rules

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 6, 1, hour, minute, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("text", "unknown"),
    [
        ("{name}，您好 {link}", []),
        ("{name} {nam} {__class__}", ["nam", "__class__"]),
        ("{name.__class__}", ["name.__class__"]),
        ("{0}{}", ["0", ""]),
        ("满{points}分 {", ["{"]),
        ("} {tier}", ["}"]),
        ("{{name}}", ["{", "}"]),
        ("{phone}{phone}", ["phone"]),
    ],
)
def test_unknown_variables_and_stray_braces_are_found(text, unknown):
    assert rules.unknown_variables(text) == unknown


def test_rendering_is_one_pass_and_a_value_is_never_read_as_a_template():
    values = {"name": "{points}{__class__}", "points": 5000}

    text = rules.render("{name} 有 {points} 分，{coupon}", values)

    assert text == "{points}{__class__} 有 5000 分，"


def test_variables_used_keep_their_first_order_for_sms_parameters():
    assert rules.variables_used("{store}{name}{store}{x}{coupon}") == ("store", "name", "coupon")


@pytest.mark.parametrize(
    ("now", "end"),
    [
        (at(20, 59), None),
        (at(21, 0), at(8) + timedelta(days=1)),
        (at(23, 30), at(8) + timedelta(days=1)),
        (at(0, 10), at(8)),
        (at(7, 59), at(8)),
        (at(8, 0), None),
        (at(12), None),
    ],
)
def test_quiet_hours_over_midnight(now, end):
    assert rules.quiet_hours_end(now, rules.quiet_hours("21:00-08:00")) == end


def test_quiet_hours_within_a_day_and_none():
    assert rules.quiet_hours_end(at(12, 30), (time(12), time(14))) == at(14)
    assert rules.quiet_hours_end(at(14), (time(12), time(14))) is None
    assert rules.quiet_hours(" ") is None
    assert rules.quiet_hours_end(at(23), None) is None


def test_caps_setting_and_which_cap_is_reached():
    limits = rules.caps("sms=1/3, all=2/4,inbox=0/0")
    assert limits == {"sms": (1, 3), "all": (2, 4), "inbox": (0, 0)}

    assert rules.cap_reached("sms", {}, limits) is None
    assert rules.cap_reached("sms", {("sms", "day"): 1}, limits) == "cap_channel_day"
    assert rules.cap_reached("sms", {("sms", "week"): 3}, limits) == "cap_channel_week"
    assert rules.cap_reached("inbox", {("inbox", "day"): 99, ("all", "day"): 2}, limits) == (
        "cap_day"
    )
    assert rules.cap_reached("wechat", {("all", "week"): 4}, limits) == "cap_week"


BASE = dict(
    channel="sms",
    channel_on=True,
    marketing=True,
    active=True,
    consent=True,
    reachable=True,
    subscribed=True,
    quiet_until=None,
    cap=None,
)


@pytest.mark.parametrize(
    ("change", "decision"),
    [
        ({}, ("send", "")),
        ({"channel_on": False}, ("refuse", "channel_off")),
        ({"channel_on": False, "marketing": False}, ("refuse", "channel_off")),
        ({"active": False, "marketing": False}, ("refuse", "closed")),
        ({"consent": False}, ("refuse", "no_consent")),
        ({"consent": False, "marketing": False}, ("send", "")),
        ({"reachable": False}, ("refuse", "no_phone")),
        ({"reachable": False, "channel": "wechat"}, ("refuse", "no_openid")),
        ({"subscribed": False, "channel": "wechat"}, ("refuse", "no_subscription")),
        (
            {"subscribed": False, "channel": "wechat", "marketing": False},
            ("refuse", "no_subscription"),
        ),
        ({"quiet_until": at(8)}, ("hold", "quiet_hours")),
        ({"quiet_until": at(8), "channel": "inbox"}, ("send", "")),
        ({"quiet_until": at(8), "marketing": False}, ("send", "")),
        ({"quiet_until": at(8), "cap": "cap_day"}, ("hold", "quiet_hours")),
        ({"cap": "cap_week"}, ("refuse", "cap_week")),
        ({"cap": "cap_week", "marketing": False}, ("send", "")),
    ],
)
def test_message_decision(change, decision):
    assert rules.message_decision(**{**BASE, **change}) == decision


def test_retries_wait_twice_as_long_each_time_up_to_a_day():
    assert [rules.retry_delay(n, 60).total_seconds() for n in (1, 2, 3)] == [60, 120, 240]
    assert rules.retry_delay(30, 60) == timedelta(days=1)


def test_wechat_fields_are_read_one_a_line():
    assert rules.wechat_fields("thing1: {coupon}\n\n character_string2:A-1 \n") == [
        ("thing1", "{coupon}"),
        ("character_string2", "A-1"),
    ]
    with pytest.raises(ValueError, match="thing: x"):
        rules.wechat_fields("thing1: ok\nthing: x")


@pytest.mark.parametrize(
    ("field", "value", "sent"),
    [
        ("thing1", "满100减20券已到账", "满100减20券已到账"),
        ("thing1", "一" * 21, "一" * 19 + "…"),
        ("character_string3", "A" * 40, "A" * 32),
        ("phrase4", "已经到店取货", "已经到店取"),
        ("name5", "欧阳" * 6, "欧阳" * 5),
        ("name5", "Li Lei " * 4, ("Li Lei " * 4)[:20]),
        ("phone_number6", "+86-0766-66888866-12", "+86-0766-66888866"),
        ("number7", "1" * 40, "1" * 40),  # never cut: a shorter number says something else
        ("time8", "2026年12月31日 23:59", "2026年12月31日 23:59"),
    ],
)
def test_a_wechat_value_is_cut_to_what_its_field_takes(field, value, sent):
    assert rules.wechat_value(field, value) == sent
