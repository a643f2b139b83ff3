"""Withdrawals paid through WeChat Pay's 商家转账 (apps.referrals.payouts.WechatPayoutBackend)
against a local fake of WeChat Pay that keeps its transfer bills by out_bill_no: paid at
once, processing then settled by the periodic job, refused, cut off and retried under the
same number (paid once), waiting for the member to confirm receipt in the mini-program
(confirmed, or never and cancelled by WeChat: the money back once), and a promoter with no
openid refused to finance up front. WeChat's notice that a bill ended (MCHTRANSFER.BILL.
FINISHED, posted to the payment notify endpoint) settles the withdrawal at once: paid from
the notice, money back only once WeChat's query agrees, once however often it comes and
whatever the job does at the same time; a notice not WeChat's changes nothing."""

from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.contrib.auth.models import Group
from django.utils import translation
from rest_framework.test import APIClient

from apps.core import roles
from apps.core.checks import backends_check
from apps.core.models import AuditEntry
from apps.members.models import MemberIdentity
from apps.referrals.commissions import commissions_release_due, commissions_write
from apps.referrals.errors import PayeeUnknown
from apps.referrals.models import CommissionEntry
from apps.referrals.payouts import WechatPayoutBackend
from apps.referrals.selectors import promoter_balances
from apps.referrals.tasks import withdrawals_pay_out_task
from apps.referrals.verification import commission_problems
from apps.referrals.withdrawals import (
    withdrawal_approve,
    withdrawal_pay_out,
    withdrawal_request,
    withdrawals_pay_out_due,
)
from tests.conftest import run_together
from tests.core.factories import UserFactory
from tests.fake_http import Answer, fake_server
from tests.orders import wechatpay_fake as wx
from tests.referrals.factories import customer_of, default_rate, promoter_of, sale
from tests.stores.factories import StoreFactory

pytestmark = pytest.mark.django_db

BILLS = "/v3/fund-app/mch-transfer/transfer-bills"
OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"


@pytest.fixture(scope="module")
def keys():
    return wx.keys()


@pytest.fixture
def wechat(keys, settings, tmp_path):
    """The fake WeChat Pay. A new bill takes `wechat.state` (and `wechat.fail_reason`), and
    one waiting for the member's confirmation a package, which the transfer's answer
    carries and a query's does not; `wechat.hang` makes the next transfer's answer come too
    late; `wechat.refuse_repeats` refuses a transfer under a number it has; `wechat.posts`
    counts the transfers asked for."""
    bills: dict[str, dict] = {}

    def answer(request):
        if not wx.signed_by_merchant(keys, request):
            return Answer(401, b'{"code": "SIGN_ERROR", "message": "bad signature"}')
        if request.method == "POST" and request.path == BILLS:
            fields = request.json()
            server.posts.append(fields)
            if server.refuse_repeats and fields["out_bill_no"] in bills:
                return wx.answer(keys, 400, {"code": "INVALID_REQUEST", "message": "重复"})
            bill = bills.setdefault(
                fields["out_bill_no"],
                {
                    "out_bill_no": fields["out_bill_no"],
                    "transfer_bill_no": f"1330000071100999991182020{len(bills):015d}",
                    "state": server.state,
                    "fail_reason": server.fail_reason,
                    "package_info": f"ABBQO+oYAAABAAAAAAC{len(bills)}Zz==",
                },
            )
            if bill["state"] != "WAIT_USER_CONFIRM":
                bill = {k: v for k, v in bill.items() if k != "package_info"}
            reply = wx.answer(keys, 200, bill)
            if server.hang:
                server.hang = False
                reply.delay = 3
            return reply
        number = request.path.removeprefix(f"{BILLS}/out-bill-no/")
        if request.method == "GET" and number in bills:
            return wx.answer(
                keys, 200, {k: v for k, v in bills[number].items() if k != "package_info"}
            )
        return wx.answer(keys, 404, {"code": "NOT_FOUND", "message": "记录不存在"})

    paths = keys.write(tmp_path)
    with fake_server(answer) as server:
        server.state, server.fail_reason, server.hang, server.posts = "SUCCESS", "", False, []
        server.refuse_repeats = False
        server.bills = bills
        settings.PAYOUT_BACKEND = "apps.referrals.payouts.WechatPayoutBackend"
        settings.PAYMENT_BACKEND = "apps.orders.wechatpay.WechatPayBackend"  # checks notices
        settings.WECHATPAY_MCH_ID = wx.MCH_ID
        settings.WECHATPAY_APP_ID = wx.APP_ID
        settings.WECHATPAY_APIV3_KEY = wx.APIV3_KEY
        settings.WECHATPAY_CERT_SERIAL_NO = wx.CERT_SERIAL_NO
        settings.WECHATPAY_PRIVATE_KEY_PATH = paths["merchant"]
        settings.WECHATPAY_PLATFORM_KEY_PATH = paths["platform"]
        settings.WECHATPAY_PLATFORM_KEY_ID = wx.PLATFORM_KEY_ID
        settings.WECHATPAY_NOTIFY_URL = "https://vip.example.cn/api/v1/payments/notify"
        settings.WECHATPAY_API_BASE = server.url
        yield server


@pytest.fixture
def promoter(db):
    """A promoter with 100.00 available."""
    default_rate(10, 0)
    promoter = promoter_of()
    order = sale(StoreFactory(), customer_of(promoter), [("TEE", 1, "1000")])
    commissions_write(order_id=order.pk)
    commissions_release_due(now=order.paid_at + timedelta(days=8))
    return promoter


@pytest.fixture
def withdrawal(promoter):
    MemberIdentity.objects.create(
        member=promoter.member, kind=MemberIdentity.Kind.WECHAT_OPENID, value=OPENID
    )
    return withdrawal_request(promoter=promoter, amount=D("30.00"), key="k")


def test_an_approved_withdrawal_is_transferred_to_the_openid_in_fen(wechat, withdrawal):
    paid = withdrawal_approve(withdrawal=withdrawal, actor=UserFactory())

    assert paid.status == "paid"
    assert paid.payout_ref == wechat.bills[f"W{withdrawal.pk:012d}"]["transfer_bill_no"]
    [sent] = wechat.posts
    assert sent["out_bill_no"] == f"W{withdrawal.pk:012d}"
    assert (sent["openid"], sent["appid"], sent["transfer_amount"]) == (OPENID, wx.APP_ID, 3000)
    assert sent["transfer_scene_id"] == "1005"
    assert sent["notify_url"] == "https://vip.example.cn/api/v1/payments/notify"
    assert commission_problems() == {}


def test_a_processing_transfer_waits_and_the_job_settles_it_once(wechat, withdrawal):
    wechat.state = "PROCESSING"
    waiting = withdrawal_approve(withdrawal=withdrawal, actor=UserFactory())
    assert waiting.status == "approved"
    assert not CommissionEntry.objects.filter(kind="pay").exists()

    withdrawals_pay_out_task()  # still processing at WeChat: nothing changes
    withdrawal.refresh_from_db()
    assert withdrawal.status == "approved"

    wechat.bills[f"W{withdrawal.pk:012d}"]["state"] = "SUCCESS"
    withdrawals_pay_out_task()
    withdrawals_pay_out_task()
    withdrawal.refresh_from_db()
    assert withdrawal.status == "paid"
    assert len(wechat.posts) == 1
    assert CommissionEntry.objects.filter(withdrawal=withdrawal, kind="pay").count() == 1
    assert commission_problems() == {}


def test_a_failed_transfer_gives_the_money_back_with_wechats_reason(
    wechat,
    withdrawal,
    promoter,
):
    wechat.state, wechat.fail_reason = "FAIL", "PAYEE_ACCOUNT_ABNORMAL"

    failed = withdrawal_approve(withdrawal=withdrawal, actor=UserFactory())

    assert failed.status == "failed"
    assert "PAYEE_ACCOUNT_ABNORMAL" in failed.reason
    assert promoter_balances(promoter)["available"] == D("100.00")
    assert commission_problems() == {}


def test_a_transfer_cut_off_is_asked_again_under_the_same_number_and_paid_once(
    wechat, withdrawal, monkeypatch
):
    monkeypatch.setattr(WechatPayoutBackend, "timeout", (2, 0.5))
    wechat.hang = True  # WeChat takes the transfer, its answer is lost

    assert withdrawal_approve(withdrawal=withdrawal, actor=UserFactory()).status == "approved"

    withdrawals_pay_out_task()
    withdrawal.refresh_from_db()
    assert withdrawal.status == "paid"
    assert [sent["out_bill_no"] for sent in wechat.posts] == [f"W{withdrawal.pk:012d}"]
    assert CommissionEntry.objects.filter(withdrawal=withdrawal, kind="pay").count() == 1
    assert commission_problems() == {}


def test_wechat_down_leaves_the_withdrawal_waiting_never_failed(wechat, withdrawal, settings):
    settings.WECHATPAY_API_BASE = "http://127.0.0.1:9"  # nothing listens

    assert withdrawal_approve(withdrawal=withdrawal, actor=UserFactory()).status == "approved"
    withdrawals_pay_out_task()
    withdrawal.refresh_from_db()
    assert withdrawal.status == "approved"

    settings.WECHATPAY_API_BASE = wechat.url
    withdrawals_pay_out_task()
    withdrawal.refresh_from_db()
    assert withdrawal.status == "paid"


def test_a_transfer_the_member_must_confirm_waits_with_its_package_until_confirmed(
    wechat, withdrawal
):
    wechat.state = "WAIT_USER_CONFIRM"
    number = f"W{withdrawal.pk:012d}"

    waiting = withdrawal_approve(withdrawal=withdrawal, actor=UserFactory())

    assert waiting.status == "confirming"
    assert waiting.payout_package == wechat.bills[number]["package_info"]
    [audited] = AuditEntry.objects.filter(action="withdrawal.confirming")
    assert (audited.before, audited.after["status"]) == ({"status": "approved"}, "confirming")
    withdrawals_pay_out_task()  # not confirmed yet: the package the member holds stands
    withdrawal.refresh_from_db()
    assert (withdrawal.status, withdrawal.payout_package) == ("confirming", waiting.payout_package)
    assert len(wechat.posts) == 1
    assert AuditEntry.objects.filter(action="withdrawal.confirming").count() == 1
    assert commission_problems() == {}

    wechat.bills[number]["state"] = "SUCCESS"  # the member confirmed in the mini-program
    withdrawals_pay_out_task()
    withdrawals_pay_out_task()

    withdrawal.refresh_from_db()
    assert (withdrawal.status, withdrawal.payout_package) == ("paid", "")
    assert withdrawal.payout_ref == wechat.bills[number]["transfer_bill_no"]
    assert CommissionEntry.objects.filter(withdrawal=withdrawal, kind="pay").count() == 1
    assert commission_problems() == {}


def test_a_transfer_never_confirmed_gives_the_money_back_once(wechat, withdrawal, promoter):
    wechat.state = "WAIT_USER_CONFIRM"
    waiting = withdrawal_approve(withdrawal=withdrawal, actor=UserFactory())
    assert promoter_balances(promoter)["available"] == D("70.00")
    # WeChat cancels a transfer not confirmed within 24 hours
    wechat.bills[f"W{withdrawal.pk:012d}"].update(state="CANCELLED", fail_reason="TIMEOUT")

    withdrawals_pay_out_task()
    withdrawals_pay_out_task()
    late = withdrawal_pay_out(withdrawal=waiting)  # a run that read it still waiting

    withdrawal.refresh_from_db()
    assert late.status == withdrawal.status == "failed"
    assert "CANCELLED" in withdrawal.reason and withdrawal.payout_package == ""
    assert promoter_balances(promoter)["available"] == D("100.00")
    assert CommissionEntry.objects.filter(withdrawal=withdrawal, kind="return").count() == 1
    [audited] = AuditEntry.objects.filter(action="withdrawal.failed")
    assert audited.before == {"status": "confirming"}
    assert commission_problems() == {}


@pytest.mark.parametrize("refused", [False, True])
def test_a_lost_answer_to_a_transfer_awaiting_confirmation_is_asked_again_for_its_package(
    wechat, withdrawal, promoter, monkeypatch, refused
):
    monkeypatch.setattr(WechatPayoutBackend, "timeout", (2, 0.5))
    wechat.state, wechat.hang, wechat.refuse_repeats = "WAIT_USER_CONFIRM", True, refused

    assert withdrawal_approve(withdrawal=withdrawal, actor=UserFactory()).status == "approved"
    withdrawals_pay_out_task()  # the query says waiting, with no package: asked again

    withdrawal.refresh_from_db()
    number = f"W{withdrawal.pk:012d}"
    assert [sent["out_bill_no"] for sent in wechat.posts] == [number, number]
    assert list(wechat.bills) == [number]
    # refused, the bill still waits at WeChat: waiting here too, never failed
    assert withdrawal.status == "confirming"
    package = "" if refused else wechat.bills[number]["package_info"]
    assert withdrawal.payout_package == package
    assert promoter_balances(promoter)["available"] == D("70.00")
    assert commission_problems() == {}


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_a_promoter_with_no_openid_is_refused_to_finance_and_nothing_changes(
    wechat,
    promoter,
    language,
):
    withdrawal = withdrawal_request(promoter=promoter, amount=D("30.00"), key="k")

    with translation.override(language):
        with pytest.raises(PayeeUnknown) as refused:
            withdrawal_approve(withdrawal=withdrawal, actor=UserFactory())
        message = refused.value.render()

    assert ("微信小程序" if language == "zh-hans" else "WeChat mini-program") in message
    withdrawal.refresh_from_db()
    assert withdrawal.status == "requested"
    assert wechat.posts == []


def test_the_site_check_takes_wechat_transfers_in_production_and_names_what_is_missing(
    wechat, settings
):
    settings.DEBUG, settings.HUIJI_SANDBOX = False, False
    payouts = [e for e in backends_check() if "PAYOUT_BACKEND" in e.msg]
    assert payouts == []

    settings.WECHATPAY_TRANSFER_SCENE_ID = ""
    [problem] = [e for e in backends_check() if "PAYOUT_BACKEND" in e.msg]
    assert problem.id == "huiji.E005" and "WECHATPAY_TRANSFER_SCENE_ID" in problem.msg

    settings.PAYOUT_BACKEND = "apps.referrals.payouts.SandboxPayoutBackend"
    assert "huiji.E001" in {e.id for e in backends_check() if "PAYOUT_BACKEND" in e.msg}


def test_finance_is_told_in_the_console_when_a_promoter_has_no_openid(wechat, promoter, client):
    finance = UserFactory(is_staff=True)
    finance.groups.add(Group.objects.get(name=roles.FINANCE))
    client.force_login(finance)
    asked = withdrawal_request(promoter=promoter, amount=D("30.00"), key="k")

    page = client.post(
        "/admin/referrals/withdrawal/",
        {"action": "approve_withdrawal", "_selected_action": [asked.pk], "note": ""},
        follow=True,
        headers={"accept-language": "zh-hans"},
    )

    assert "没有可收款的微信账户" in page.content.decode()
    asked.refresh_from_db()
    assert asked.status == "requested"
    assert wechat.posts == []


def transfer_notice(keys, wechat, withdrawal, state, **changes) -> tuple[bytes, dict]:
    """WeChat's notice that the withdrawal's bill ended in `state`, signed as WeChat signs
    it: the body and its headers."""
    number = f"W{withdrawal.pk:012d}"
    resource = wx.transfer_resource(
        number, 3000, state, transfer_bill_no=wechat.bills[number]["transfer_bill_no"]
    )
    return wx.notice(
        keys.platform,
        {**resource, **changes},
        event_type="MCHTRANSFER.BILL.FINISHED",
        associated_data="",  # as WeChat's transfer notices have it
    )


def post_notice(body: bytes, headers: dict):
    return APIClient().generic(
        "POST", "/api/v1/payments/notify", body, content_type="application/json", headers=headers
    )


@pytest.fixture
def notify(django_capture_on_commit_callbacks):
    """Post a notice as WeChat does, what it starts once answered run too."""

    def post(body: bytes, headers: dict):
        with django_capture_on_commit_callbacks(execute=True):
            return post_notice(body, headers)

    return post


def queries(wechat) -> int:
    return sum(request.method == "GET" for request in wechat.received)


def test_a_transfer_notice_pays_the_withdrawal_at_once_and_its_replay_changes_nothing(
    notify, wechat, keys, withdrawal, promoter
):
    wechat.state = "WAIT_USER_CONFIRM"
    assert withdrawal_approve(withdrawal=withdrawal, actor=UserFactory()).status == "confirming"
    number = f"W{withdrawal.pk:012d}"
    wechat.bills[number]["state"] = "SUCCESS"  # the member confirmed in the mini-program
    asked = queries(wechat)
    body, headers = transfer_notice(keys, wechat, withdrawal, "SUCCESS")

    first = notify(body, headers)

    assert (first.status_code, first.json()["code"]) == (200, "SUCCESS")
    withdrawal.refresh_from_db()
    assert (withdrawal.status, withdrawal.payout_package) == ("paid", "")
    assert withdrawal.payout_ref == wechat.bills[number]["transfer_bill_no"]
    assert queries(wechat) == asked  # a signed SUCCESS is trusted: WeChat is not asked

    again = notify(body, headers)
    withdrawals_pay_out_task()  # the job finds nothing left to settle

    assert (again.status_code, again.json()["code"]) == (200, "SUCCESS")
    assert queries(wechat) == asked
    assert CommissionEntry.objects.filter(withdrawal=withdrawal, kind="pay").count() == 1
    assert AuditEntry.objects.filter(action="withdrawal.paid").count() == 1
    assert promoter_balances(promoter)["available"] == D("70.00")
    assert commission_problems() == {}


@pytest.mark.parametrize("state", ["CANCELLED", "FAIL"])
def test_a_transfer_notice_of_failure_gives_the_money_back_once_when_wechat_agrees(
    notify, wechat, keys, withdrawal, promoter, state
):
    wechat.state = "WAIT_USER_CONFIRM"
    withdrawal_approve(withdrawal=withdrawal, actor=UserFactory())
    wechat.bills[f"W{withdrawal.pk:012d}"].update(state=state, fail_reason="TIMEOUT")
    asked = queries(wechat)
    body, headers = transfer_notice(keys, wechat, withdrawal, state)

    first = notify(body, headers)

    assert first.status_code == 200
    withdrawal.refresh_from_db()
    assert (withdrawal.status, withdrawal.payout_package) == ("failed", "")
    assert state in withdrawal.reason and "TIMEOUT" in withdrawal.reason  # WeChat's answer
    assert queries(wechat) == asked + 1

    again = notify(body, headers)
    withdrawals_pay_out_task()

    assert again.status_code == 200
    assert queries(wechat) == asked + 1  # settled: neither asks again
    assert promoter_balances(promoter)["available"] == D("100.00")
    assert CommissionEntry.objects.filter(withdrawal=withdrawal, kind="return").count() == 1
    assert AuditEntry.objects.filter(action="withdrawal.failed").count() == 1
    assert commission_problems() == {}


def test_a_failure_notice_wechat_does_not_confirm_gives_nothing_back(
    notify, wechat, keys, withdrawal, promoter
):
    """Money back could be withdrawn again: it waits for WeChat's own answer."""
    wechat.state = "PROCESSING"
    withdrawal_approve(withdrawal=withdrawal, actor=UserFactory())

    response = notify(*transfer_notice(keys, wechat, withdrawal, "FAIL"))

    assert response.status_code == 200
    withdrawal.refresh_from_db()
    assert withdrawal.status == "approved"
    assert promoter_balances(promoter)["available"] == D("70.00")
    assert not CommissionEntry.objects.filter(withdrawal=withdrawal, kind="return").exists()


def test_a_success_notice_of_another_amount_is_settled_by_wechats_answer(
    notify, wechat, keys, withdrawal
):
    wechat.state = "PROCESSING"
    withdrawal_approve(withdrawal=withdrawal, actor=UserFactory())
    asked = queries(wechat)

    response = notify(*transfer_notice(keys, wechat, withdrawal, "SUCCESS", transfer_amount=1))

    assert response.status_code == 200
    withdrawal.refresh_from_db()
    assert withdrawal.status == "approved"  # WeChat says it is still processing
    assert queries(wechat) == asked + 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("state", "kind"), [("SUCCESS", "pay"), ("CANCELLED", "return")])
def test_a_notice_and_its_replay_racing_the_job_settle_the_withdrawal_once(
    wechat, keys, withdrawal, promoter, state, kind
):
    wechat.state = "WAIT_USER_CONFIRM"
    withdrawal_approve(withdrawal=withdrawal, actor=UserFactory())
    wechat.bills[f"W{withdrawal.pk:012d}"]["state"] = state
    body, headers = transfer_notice(keys, wechat, withdrawal, state)

    def notice():
        return post_notice(body, headers).status_code

    runs = [notice, withdrawals_pay_out_due, notice, withdrawals_pay_out_due]
    results = run_together(lambda: runs.pop()(), 4)

    assert results.count(200) == 2  # the notices, acknowledged
    withdrawal.refresh_from_db()
    assert withdrawal.status == ("paid" if state == "SUCCESS" else "failed")
    assert CommissionEntry.objects.filter(withdrawal=withdrawal, kind=kind).count() == 1
    assert AuditEntry.objects.filter(action=f"withdrawal.{withdrawal.status}").count() == 1
    available = D("70.00") if state == "SUCCESS" else D("100.00")
    assert promoter_balances(promoter)["available"] == available
    assert commission_problems() == {}


FORGED = {
    "signed by another key": lambda keys, notice: (
        notice[0],
        wx.signed_headers(wx.keys().platform, notice[0]),
    ),
    "tampered after signing": lambda keys, notice: (
        notice[0].replace(b"MCHTRANSFER.BILL.FINISHED", b"MCHTRANSFER.BILL.FINISHED "),
        notice[1],
    ),
}


@pytest.mark.parametrize("forge", FORGED.values(), ids=FORGED.keys())
def test_a_transfer_notice_not_wechats_answers_400_and_changes_nothing(
    notify, wechat, keys, withdrawal, promoter, forge
):
    wechat.state = "WAIT_USER_CONFIRM"
    withdrawal_approve(withdrawal=withdrawal, actor=UserFactory())
    wechat.bills[f"W{withdrawal.pk:012d}"]["state"] = "CANCELLED"
    asked = queries(wechat)

    response = notify(*forge(keys, transfer_notice(keys, wechat, withdrawal, "CANCELLED")))

    assert response.status_code == 400
    withdrawal.refresh_from_db()
    assert withdrawal.status == "confirming" and withdrawal.payout_package
    assert queries(wechat) == asked
    assert promoter_balances(promoter)["available"] == D("70.00")
    assert not CommissionEntry.objects.filter(withdrawal=withdrawal, kind="return").exists()


@pytest.mark.parametrize(
    "changes",
    [{"mchid": "1900000999"}, {"transfer_amount": "30.00"}, {"transfer_bill_no": ""}],
    ids=["another merchant's", "in yuan", "without WeChat's number"],
)
def test_a_transfer_notice_not_ours_or_malformed_answers_400_and_changes_nothing(
    notify, wechat, keys, withdrawal, changes
):
    wechat.state = "PROCESSING"
    withdrawal_approve(withdrawal=withdrawal, actor=UserFactory())

    response = notify(*transfer_notice(keys, wechat, withdrawal, "SUCCESS", **changes))

    assert response.status_code == 400
    withdrawal.refresh_from_db()
    assert withdrawal.status == "approved"


@pytest.mark.parametrize(
    ("state", "changes"),
    [
        ("SUCCESS", {"out_bill_no": "W999999999999"}),
        ("SUCCESS", {"out_bill_no": "PLFK2020042013"}),
        ("ACCEPTED", {}),
    ],
    ids=["no such withdrawal", "not a withdrawal's number", "a bill not ended"],
)
def test_a_transfer_notice_for_no_withdrawal_here_is_acknowledged_and_changes_nothing(
    notify, wechat, keys, withdrawal, state, changes, caplog
):
    wechat.state = "PROCESSING"
    withdrawal_approve(withdrawal=withdrawal, actor=UserFactory())
    asked = queries(wechat)

    response = notify(*transfer_notice(keys, wechat, withdrawal, state, **changes))

    assert (response.status_code, response.json()["code"]) == (200, "SUCCESS")
    withdrawal.refresh_from_db()
    assert withdrawal.status == "approved" and queries(wechat) == asked
    assert not CommissionEntry.objects.filter(withdrawal=withdrawal, kind="pay").exists()
    if "out_bill_no" in changes:
        assert f"transfer notice for {changes['out_bill_no']}: no such withdrawal" in caplog.text


# Review h27: a bill known to wait at WeChat is given back on answers that are not its state.
def _query_answers(monkeypatch, status, body):
    real = WechatPayoutBackend._call

    def call(call, **params):
        if call.__name__ == "mch_transfer_bills_query":
            return status, body
        return real(call, **params)

    monkeypatch.setattr(WechatPayoutBackend, "_call", staticmethod(call))


@pytest.mark.parametrize("cause", ["query_sign_error", "query_no_auth", "openid_gone"])
def test_h27_a_transfer_awaiting_confirmation_is_failed_only_by_its_bills_state(
    wechat, withdrawal, promoter, monkeypatch, cause
):
    """The member holds the package and may still confirm; the bill at WeChat still waits.
    A 401/403 to the query (a rotated certificate, a permission switched off) or the
    member's openid gone (account deleted) fails the withdrawal and gives the money back:
    if the member then confirms, WeChat pays 29.xx yuan that the ledger has returned to
    'available' — paid once by WeChat and available to withdraw again."""
    wechat.state = "WAIT_USER_CONFIRM"
    waiting = withdrawal_approve(withdrawal=withdrawal, actor=UserFactory())
    assert waiting.status == "confirming"
    if cause == "query_sign_error":
        _query_answers(monkeypatch, 401, {"code": "SIGN_ERROR", "message": "签名错误"})
    elif cause == "query_no_auth":
        _query_answers(monkeypatch, 403, {"code": "NO_AUTH", "message": "商户无权限"})
    else:
        MemberIdentity.objects.filter(member=promoter.member).delete()

    withdrawals_pay_out_task()

    withdrawal.refresh_from_db()
    assert wechat.bills[f"W{withdrawal.pk:012d}"]["state"] == "WAIT_USER_CONFIRM"
    assert withdrawal.status == "confirming", (withdrawal.status, withdrawal.reason)
    assert promoter_balances(promoter)["available"] == D("70.00")
    assert commission_problems() == {}
