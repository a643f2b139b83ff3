from drf_spectacular.extensions import OpenApiAuthenticationExtension


class MemberTokenScheme(OpenApiAuthenticationExtension):
    target_class = "apps.miniprogram.authentication.MemberTokenAuthentication"
    name = "MemberToken"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "The token from auth/login."}
