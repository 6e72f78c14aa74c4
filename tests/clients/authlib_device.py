"""Authlib (PyPI) as a device without a browser (RFC 8628), with a confidential app: the device
endpoint from the RFC 8414 metadata, client_secret_basic, then the device_code grant polled
through Authlib's token request until headless Chromium (approve-device.mjs) has played the user:
verification page, sign-up, consent. The ID token is checked with joserfc against the JWKS.

Env: ISSUER, CLIENT_ID, CLIENT_SECRET (a `web` app with the device flow on), EMAIL, PASSWORD.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import requests
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session

from lib.common import need, verified_id_token

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"

issuer = need("ISSUER")
client_id = need("CLIENT_ID")
email = need("EMAIL")

meta = requests.get(f"{issuer}/.well-known/oauth-authorization-server", timeout=10).json()
assert meta["issuer"] == issuer and DEVICE_GRANT in meta["grant_types_supported"], meta
client_secret = need("CLIENT_SECRET")
session = OAuth2Session(
    client_id,
    client_secret,
    scope="openid profile",
    token_endpoint_auth_method="client_secret_basic",
)

# The device authorization request, authenticated with HTTP Basic as the token requests are.
answer = session.post(
    meta["device_authorization_endpoint"],
    data={"scope": "openid profile"},
    auth=(client_id, client_secret),
    withhold_token=True,
    timeout=10,
)
assert answer.status_code == 200, answer.text
started = answer.json()
assert started["verification_uri"] == f"{issuer}/device", started

driver = Path(__file__).with_name("approve-device.mjs")
user_side = subprocess.Popen(
    ["node", str(driver), started["verification_uri_complete"], started["user_code"]],
    env={**os.environ, "SIGN_UP": "1"},
    stdout=subprocess.PIPE,
    stderr=subprocess.PIPE,
    text=True,
)

interval = started["interval"]
deadline = time.time() + started["expires_in"]
seen = set()
token = None
while token is None and time.time() < deadline:
    time.sleep(interval)
    try:
        token = session.fetch_token(
            meta["token_endpoint"], grant_type=DEVICE_GRANT, device_code=started["device_code"]
        )
    except OAuthError as error:
        seen.add(error.error)
        if error.error == "slow_down":
            interval += 5
        elif error.error != "authorization_pending":
            sys.exit(f"the poll failed: {error.error}: {error.description}")
out, err = user_side.communicate(timeout=120)
assert user_side.returncode == 0, f"{out}\n{err}"
assert out.strip() == "Your device is signed in", out
assert token is not None, f"no tokens before the device code expired (saw {seen})"
assert "authorization_pending" in seen, seen

claims = verified_id_token(meta, token["id_token"], client_id)
assert claims["email"] == email, claims
info = session.get(meta["userinfo_endpoint"], timeout=10).json()
assert info["sub"] == claims["sub"], info

# The device code is spent: a second poll gets nothing.
try:
    session.fetch_token(meta["token_endpoint"], grant_type=DEVICE_GRANT, device_code=started["device_code"])
except OAuthError as error:
    assert error.error == "invalid_grant", error
else:
    sys.exit("a device code gave tokens twice")
print("authlib device flow: ok")
