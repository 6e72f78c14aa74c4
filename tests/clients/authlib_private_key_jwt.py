"""Authlib (PyPI) as a server-side client authenticating with a key (RFC 7523 private_key_jwt):
it makes an ES256 key with joserfc, registers the public half on its S2S app through the S2S
API, then asks for a client-credentials token with Authlib's PrivateKeyJWT (whose assertion
names the token endpoint as audience, as RFC 7523 clients before 7523bis do) and calls /info with
it. Its secret no longer works once the app is on private_key_jwt.

Env: ISSUER, ADMIN_TOKEN (root), APP_ID and CLIENT_ID (an S2S app), CLIENT_SECRET (its secret).
"""

import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from joserfc.jwk import ECKey

from lib.common import need

issuer = need("ISSUER")
client_id = need("CLIENT_ID")
meta = requests.get(f"{issuer}/.well-known/oauth-authorization-server", timeout=10).json()
assert "private_key_jwt" in meta["token_endpoint_auth_methods_supported"], meta
token_endpoint = meta["token_endpoint"]

key = ECKey.generate_key("P-256", parameters={"kid": "authlib-1", "alg": "ES256", "use": "sig"})
public = key.as_dict(private=False)
answer = requests.put(
    f"{issuer}/api/v1/apps/{need('APP_ID')}",
    headers={"Authorization": f"Bearer {need('ADMIN_TOKEN')}"},
    json={"tokenEndpointAuthMethod": "private_key_jwt", "jwks": {"keys": [public]}},
    timeout=10,
)
assert answer.status_code == 200, answer.text

session = OAuth2Session(
    client_id,
    key,
    token_endpoint_auth_method=PrivateKeyJWT(token_endpoint, headers={"kid": "authlib-1"}, alg="ES256"),
)
token = session.fetch_token(token_endpoint, grant_type="client_credentials", scope="root")
assert token["token_type"].lower() == "bearer" and token["access_token"], token
info = requests.get(
    f"{issuer}/info",
    headers={"Authorization": f"Bearer {token['access_token']}"},
    timeout=10,
)
assert info.status_code == 200, info.text

# The secret it had is refused now that the app signs assertions.
refused = requests.post(
    token_endpoint,
    auth=(client_id, need("CLIENT_SECRET")),
    data={"grant_type": "client_credentials", "scope": "root"},
    timeout=10,
)
assert refused.status_code == 401 and refused.json()["error"] == "invalid_client", refused.text
print("authlib private_key_jwt: ok")
