from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions


class HeaderTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: <keyword> <token>`. A subclass names its keyword and defines
    `user_for(token)`: the caller the token belongs to, or None."""

    keyword = ""
    rejected_message = _("These credentials are unknown or have expired.")

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1").split()
        if not header or header[0] != self.keyword:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                _("Send the header as 'Authorization: %(keyword)s <token>'.")
                % {"keyword": self.keyword}
            )
        user = self.user_for(header[1])
        if user is None:
            raise exceptions.AuthenticationFailed(self.rejected_message)
        return user, header[1]

    def authenticate_header(self, request):
        return self.keyword
