"""Authlib (PyPI) against Gatehouse: discovery, authorization code + PKCE with client_secret_post,
ID token checked with joserfc against the JWKS (signature, iss, aud, exp, nonce), userinfo,
refresh, introspection (RFC 7662, by the app and by a resource server that reads the RFC 8414
metadata), revoke. The sign-in step runs in headless Chromium (drive.mjs).

Env: ISSUER, CLIENT_ID, CLIENT_SECRET (a confidential `web` app), REDIRECT_URI, EMAIL, PASSWORD,
RS_CLIENT_ID, RS_CLIENT_SECRET (an S2S app standing for a resource server).
"""

import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.integrations.base_client.errors import OAuthError

from lib.common import need, verified_id_token


issuer = need("ISSUER")
client_id = need("CLIENT_ID")
client_secret = need("CLIENT_SECRET")
redirect_uri = need("REDIRECT_URI")
email = need("EMAIL")

meta = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=10).json()
assert meta["issuer"] == issuer, meta
assert "client_secret_post" in meta["token_endpoint_auth_methods_supported"], meta

session = OAuth2Session(
    client_id,
    client_secret,
    scope="openid profile offline_access",
    redirect_uri=redirect_uri,
    code_challenge_method="S256",
    token_endpoint_auth_method="client_secret_post",
)
verifier = secrets.token_urlsafe(48)
nonce = secrets.token_urlsafe(16)
url, state = session.create_authorization_url(
    meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce
)

driver = Path(__file__).with_name("drive.mjs")
driven = subprocess.run(
    ["node", str(driver), url, redirect_uri],
    env={**os.environ, "SIGN_UP": "1"},
    capture_output=True,
    text=True,
    timeout=120,
)
# The browser's own account of a failure is what tells a flaky page from a broken one.
assert driven.returncode == 0, f"drive.mjs failed ({driven.returncode}):\n{driven.stdout}\n{driven.stderr}"
callback = driven.stdout.strip()

token = session.fetch_token(
    meta["token_endpoint"],
    authorization_response=callback,
    code_verifier=verifier,
    state=state,
)
assert token["token_type"].lower() == "bearer", token

claims = verified_id_token(meta, token["id_token"], client_id, nonce)
assert claims["exp"] > time.time() and claims["email"] == email, claims

info = session.get(meta["userinfo_endpoint"], timeout=10).json()
assert info["sub"] == claims["sub"] and info["email"] == email, info

refreshed = session.refresh_token(meta["token_endpoint"], refresh_token=token["refresh_token"])
assert refreshed["access_token"] != token["access_token"], refreshed
current = refreshed.get("refresh_token", token["refresh_token"])

as_meta = requests.get(f"{issuer}/.well-known/oauth-authorization-server", timeout=10).json()
assert as_meta["issuer"] == issuer and as_meta["introspection_endpoint"], as_meta
resource_server = OAuth2Session(
    need("RS_CLIENT_ID"), need("RS_CLIENT_SECRET"), token_endpoint_auth_method="client_secret_basic"
)


def introspect(session, value, hint=None):
    answer = session.introspect_token(
        as_meta["introspection_endpoint"], token=value, token_type_hint=hint
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers.get("cache-control") == "no-store", answer.headers
    return answer.json()


seen = introspect(resource_server, refreshed["access_token"], "access_token")
assert seen["active"] is True and seen["client_id"] == client_id, seen
assert seen["sub"] == claims["sub"] and seen["iss"] == issuer, seen
own = introspect(session, current, "refresh_token")
assert own["active"] is True and own["client_id"] == client_id, own
assert introspect(resource_server, current) == {"active": False}

revoked = session.revoke_token(
    meta["revocation_endpoint"], token=current, token_type_hint="refresh_token"
)
assert revoked.status_code == 200, revoked.text
try:
    session.refresh_token(meta["token_endpoint"], refresh_token=current)
except OAuthError as error:
    assert error.error == "invalid_grant", error
else:
    sys.exit("a revoked refresh token still works")
assert introspect(session, current, "refresh_token") == {"active": False}
print("authlib: ok")
