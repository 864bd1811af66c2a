"""Logging in with a third party: OAuth 2 (Google, Facebook, GitHub) and OAuth 1.0a (Twitter).

Each class is a mixin for a `~trinado.web.RequestHandler`, as in Tornado: the login handler
calls ``authorize_redirect()`` to send the browser to the provider, and, when the provider
sends it back, ``get_authenticated_user()`` to learn who logged in. Other handlers call the
provider's API with the token they got (``oauth2_request``, ``github_request``,
``facebook_request``, ``twitter_request``). Every method that talks to the provider is
``async``; requests go through ``get_auth_http_client()``, which you can override.

From ``examples/provider_logins.py`` (which also logs in with Google and Twitter)::

    class BaseHandler(web.RequestHandler):
        ...
        def sign_in(self, name: str) -> None:
            self.set_signed_cookie("user", name, expires_days=7, httponly=True, samesite="Lax")
            self.redirect("/")
    ...
    class GitHubLoginHandler(BaseHandler, GitHubOAuth2Mixin):
        async def get(self) -> None:
            if self.get_argument("code", None) or self.get_argument("error", None):
                try:
                    user = await self.get_authenticated_user(
                        redirect_uri="/auth/github", code=self.get_argument("code", "")
                    )
                except AuthError as error:
                    raise web.HTTPError(403, "GitHub login failed: %s", error) from None
                self.sign_in(user["login"])  # also user["id"], user["access_token"]...
            else:
                self.authorize_redirect(redirect_uri="/auth/github", scope=["read:user"])

Unlike Tornado, OAuth 2's ``state`` parameter is handled for you: `authorize_redirect
<OAuth2Mixin.authorize_redirect>` generates it and keeps it in a signed cookie (so the
application needs a ``cookie_secret``), and the methods that take the callback's code
refuse it with `AuthError` when the state is missing, wrong or expired. Errors reported by
a provider, in the callback or in its answers, raise `AuthError` with the provider's
message.
"""

from __future__ import annotations

from ._auth_common import AuthError as AuthError
from ._auth_common import AuthHTTPClient as AuthHTTPClient
from ._oauth1 import OAuthMixin as OAuthMixin
from ._oauth1 import TwitterMixin as TwitterMixin
from ._oauth1_sign import oauth10_signature, oauth10a_signature
from ._oauth2 import OAuth2Mixin as OAuth2Mixin
from ._oauth2_providers import FacebookGraphMixin as FacebookGraphMixin
from ._oauth2_providers import GitHubOAuth2Mixin as GitHubOAuth2Mixin
from ._oauth2_providers import GoogleOAuth2Mixin as GoogleOAuth2Mixin

__all__ = [
    "AuthError",
    "AuthHTTPClient",
    "FacebookGraphMixin",
    "GitHubOAuth2Mixin",
    "GoogleOAuth2Mixin",
    "OAuth2Mixin",
    "OAuthMixin",
    "TwitterMixin",
]

# Tornado's private signing functions, for code that reached for them there.
_oauth_signature = oauth10_signature
_oauth10a_signature = oauth10a_signature
