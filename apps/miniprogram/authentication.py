"""`Authorization: Bearer <token>` for the mini-program: the token from auth/login."""

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions

from apps.members.credentials import member_token_member
from apps.members.models import Member

KEYWORD = "Bearer"


@dataclass(frozen=True)
class MemberClient:
    """The caller of a mini-program request: one signed-in member."""

    member: Member

    is_authenticated = True
    is_anonymous = False

    @property
    def pk(self) -> str:
        return f"member:{self.member.pk}"

    @property
    def idempotency_scope(self) -> str:
        return self.pk


class MemberTokenAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1").split()
        if not header or header[0] != KEYWORD:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                _("Send the header as 'Authorization: Bearer <token>'.")
            )
        member = member_token_member(header[1])
        if member is None:
            raise exceptions.AuthenticationFailed(
                _("Please sign in again: this session has ended.")
            )
        return MemberClient(member=member), header[1]

    def authenticate_header(self, request):
        return KEYWORD
