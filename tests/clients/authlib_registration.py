"""Authlib (PyPI) as a client that registers itself (RFC 7591, with an initial access token) with
its public key, then authenticates with Authlib's PrivateKeyJWT (the issuer as audience, as RFC
7523bis asks): it introspects a token, an authenticated call only a confidential client may make.

Env: ISSUER, INITIAL_TOKEN (an initial access token), REDIRECT_URI.
"""

import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from joserfc.jwk import ECKey

from lib.common import need

issuer = need("ISSUER")
meta = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=10).json()
key = ECKey.generate_key("P-256", parameters={"kid": "authlib-reg", "alg": "ES256", "use": "sig"})
answer = requests.post(
    meta["registration_endpoint"],
    headers={"Authorization": f"Bearer {need('INITIAL_TOKEN')}"},
    json={
        "client_name": "Authlib registered",
        "redirect_uris": [need("REDIRECT_URI")],
        "token_endpoint_auth_method": "private_key_jwt",
        "jwks": {"keys": [key.as_dict(private=False)]},
    },
    timeout=10,
)
assert answer.status_code == 201, answer.text
client_id = answer.json()["client_id"]

# The assertion's audience is the issuer (RFC 7523bis), good at every endpoint of the server.
session = OAuth2Session(
    client_id,
    key,
    token_endpoint_auth_method=PrivateKeyJWT(issuer, headers={"kid": "authlib-reg"}, alg="ES256"),
)
result = session.introspect_token(meta["introspection_endpoint"], token="not-a-token")
assert result.status_code == 200 and result.json() == {"active": False}, result.text
print("authlib registration: ok")
