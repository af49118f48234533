"""``Authorization: Token <token>`` for partner organisations (casework.models.ApiToken)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from casework.services.api_tokens import api_token_authenticate

TOKEN_INVALID = "This API token is not valid, or has been revoked."
TOKEN_MALFORMED = "Send the token as “Authorization: Token <token>”."


class ApiTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Token"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None  # not ours: session authentication may still apply
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(TOKEN_MALFORMED)
        try:
            plaintext = header[1].decode()
        except UnicodeError:
            raise exceptions.AuthenticationFailed(TOKEN_MALFORMED) from None
        token = api_token_authenticate(plaintext=plaintext)
        if token is None:
            raise exceptions.AuthenticationFailed(TOKEN_INVALID)
        return token.user, token

    def authenticate_header(self, request):
        return self.keyword  # makes an anonymous request a 401 with WWW-Authenticate, not a 403


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "casework.api.authentication.ApiTokenAuthentication"
    name = "partnerToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "A partner organisation's token, sent as `Token <token>` "
            "(`manage.py create_api_token`).",
        }
