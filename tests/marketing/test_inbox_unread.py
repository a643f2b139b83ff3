"""GET me/messages/unread: how many of my inbox messages I have not read, for the card."""

import pytest
from rest_framework.test import APIClient

from tests.marketing.test_api import inbox_messages
from tests.members.factories import MemberFactory, member_client

pytestmark = pytest.mark.django_db


def test_the_count_is_of_my_unread_inbox_messages_only(api_client):
    me = MemberFactory(marketing_consent=True)
    other = MemberFactory(marketing_consent=True)
    first, _second = inbox_messages(me, 2)
    inbox_messages(other, 3)
    app = member_client(api_client, me)

    assert app.get("/api/v1/me/messages/unread").json() == {"unread": 2}
    app.post(f"/api/v1/me/messages/{first.pk}/read")
    assert app.get("/api/v1/me/messages/unread").json() == {"unread": 1}


def test_the_count_needs_a_signed_in_member():
    assert APIClient().get("/api/v1/me/messages/unread").status_code == 401


def test_the_count_costs_a_few_queries(api_client, django_assert_max_num_queries):
    me = MemberFactory(marketing_consent=True)
    inbox_messages(me, 5)
    app = member_client(api_client, me)
    app.get("/api/v1/me/messages/unread")  # the token's own reads warm up
    with django_assert_max_num_queries(4):
        app.get("/api/v1/me/messages/unread")
