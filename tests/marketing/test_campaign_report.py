"""The campaign report on generated data: a known effect is inside its interval, no effect
is told apart from chance, too small a sample says so; and its CSV."""

import random
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group

from apps.core import roles
from apps.marketing.campaigns import campaign_run
from apps.marketing.models import CampaignMember
from apps.marketing.report import campaign_report, report_csv
from apps.members.models import Member, Tag
from apps.orders.models import Order
from tests.core.factories import UserFactory
from tests.marketing.test_campaigns import NOW, make_campaign
from tests.members.factories import MemberFactory
from tests.stores.factories import StoreFactory

pytestmark = pytest.mark.django_db


def campaign_with_buyers(*, members: int, reached_rate: float, holdout_rate: float, seed=7):
    Member.objects.bulk_create(
        MemberFactory.build(phone=f"139{index:08d}") for index in range(members)
    )
    campaign = make_campaign(
        {"kind": "tag_add", "tag": Tag.objects.create(name="报告")},
        holdout_percent=Decimal("50"),
    )
    campaign_run(campaign_id=campaign.pk, now=NOW)
    rng, store, orders = random.Random(seed), StoreFactory(), []
    # Exactly each group's rate buys (which members, by the seed): the groups themselves are
    # drawn from the members' ids, which differ from run to run, so a draw per member would
    # make the effect the test knows a matter of luck.
    groups = {"reached": [], "holdout": []}
    for member_id, group in CampaignMember.objects.order_by("member_id").values_list(
        "member_id", "group"
    ):
        groups[group].append(member_id)
    for group, rate in (("reached", reached_rate), ("holdout", holdout_rate)):
        for member_id in rng.sample(groups[group], round(rate * len(groups[group]))):
            orders.append(
                Order(
                    store=store,
                    member_id=member_id,
                    status="paid",
                    subtotal=Decimal("100"),
                    payable=Decimal("100"),
                    paid_amount=Decimal("100"),
                    paid_at=NOW + timedelta(days=rng.randint(0, 20)),
                )
            )
    # An order after the window does not count.
    orders.append(
        Order(
            store=store,
            member_id=orders[0].member_id,
            status="paid",
            subtotal=Decimal("5"),
            payable=Decimal("5"),
            paid_amount=Decimal("5"),
            paid_at=NOW + timedelta(days=45),
        )
    )
    Order.objects.bulk_create(orders)
    return campaign


def metric(report, name):
    return next(m for m in report.metrics if m.name == name)


def test_a_known_effect_is_inside_the_interval_and_called_out():
    campaign = campaign_with_buyers(members=1200, reached_rate=0.5, holdout_rate=0.2)

    report = campaign_report(campaign, days=30)

    bought = metric(report, "bought")
    assert 500 < report.reached < 700 and 500 < report.holdout < 700
    assert bought.low < 0.3 < bought.high and bought.low > 0
    assert bought.lift == pytest.approx(bought.difference / bought.holdout)
    assert metric(report, "revenue").difference == pytest.approx(100 * bought.difference)
    assert "更常购买" in report.verdict or "bought more often" in report.verdict


def test_no_effect_cannot_be_told_from_chance():
    campaign = campaign_with_buyers(members=1200, reached_rate=0.3, holdout_rate=0.3)

    report = campaign_report(campaign, days=30)

    bought = metric(report, "bought")
    assert bought.low < 0 < bought.high
    assert "无法" in report.verdict or "chance" in report.verdict


def test_too_small_a_sample_says_so_and_the_csv_has_every_figure():
    campaign = campaign_with_buyers(members=20, reached_rate=0.5, holdout_rate=0.2)

    report = campaign_report(campaign, days=30)
    text = report_csv(report)

    assert metric(report, "bought").low is None
    assert "20" not in report.verdict or "30" in report.verdict
    assert text.splitlines()[0] == "metric,reached,holdout,difference,lift,ci_low,ci_high"
    assert {"members", "bought", "revenue", "orders", "visits", "verdict"} <= {
        line.split(",")[0] for line in text.splitlines()
    }


def test_the_console_shows_the_report_and_gives_the_csv(hq_client):
    campaign = campaign_with_buyers(members=40, reached_rate=0.5, holdout_rate=0.2)

    page = hq_client.get(f"/admin/marketing/campaign/{campaign.pk}/change/")
    download = hq_client.get(f"/admin/marketing/campaign/{campaign.pk}/report.csv")

    assert "95% 置信区间" in page.content.decode()
    assert download["Content-Type"].startswith("text/csv")
    assert download.content.decode().startswith("metric,")


def test_a_marketer_reads_the_report_in_words_and_downloads_it(client):
    campaign = campaign_with_buyers(members=1200, reached_rate=0.5, holdout_rate=0.2)
    report = campaign_report(campaign)
    bought = metric(report, "bought")
    client.force_login(marketer())

    page = client.get(f"/admin/marketing/campaign/{campaign.pk}/change/").content.decode()
    download = client.get(f"/admin/marketing/campaign/{campaign.pk}/report.csv")

    assert "30 天内购买率" in page and "人均消费（元）" in page
    assert f"{bought.reached * 100:.1f}%" in page and f"{bought.holdout * 100:.1f}%" in page
    assert f"{bought.difference * 100:+.1f} 个百分点" in page
    assert f"{bought.lift * 100:+.1f}%" in page
    assert f"{bought.low * 100:+.1f} 个百分点 ~ {bought.high * 100:+.1f} 个百分点" in page
    assert "更常购买" in page and "成本：" in page
    assert download.status_code == 200
    assert download["Content-Disposition"] == (
        f'attachment; filename="campaign-{campaign.pk}-report.csv"'
    )
    rows = {line.split(",")[0]: line.split(",") for line in download.content.decode().splitlines()}
    assert rows["members"][1:3] == [str(report.reached), str(report.holdout)]
    assert float(rows["bought"][5]) == pytest.approx(bought.low, abs=1e-4)


def test_too_small_a_sample_is_said_in_a_sentence_on_the_page(client):
    campaign = campaign_with_buyers(members=20, reached_rate=0.5, holdout_rate=0.2)
    client.force_login(marketer())

    page = client.get(f"/admin/marketing/campaign/{campaign.pk}/change/").content.decode()

    assert "人数太少，无法判断" in page and "每组至少需要 30 人" in page


def test_the_csv_is_refused_to_staff_who_may_not_see_campaigns(client):
    campaign = campaign_with_buyers(members=20, reached_rate=0.5, holdout_rate=0.2)
    client.force_login(UserFactory(is_staff=True))

    response = client.get(f"/admin/marketing/campaign/{campaign.pk}/report.csv")

    assert response.status_code == 403


def marketer():
    user = UserFactory(is_staff=True)
    user.groups.set([Group.objects.get(name=roles.MARKETING)])
    return user
