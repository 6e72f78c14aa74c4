"""What the Python client scripts share: the environment the Rust tests set, and an ID token
checked with joserfc (independent of the server's own JWT code) against the server's JWKS."""

import os
import sys

import requests
from joserfc import jwt
from joserfc.jwk import KeySet


def need(name):
    """The environment variable `name`; exits with a clear message when it is unset or empty."""
    value = os.environ.get(name)
    if not value:
        sys.exit(f"environment variable {name} is required")
    return value


def verified_id_token(meta, id_token, client_id, nonce=None):
    """The claims of `id_token` once its signature (JWKS of `meta`), `iss`, `aud`, `exp`, `sub`
    and, when given, `nonce` check out."""
    keys = KeySet.import_key_set(requests.get(meta["jwks_uri"], timeout=10).json())
    claims = jwt.decode(id_token, keys, algorithms=["RS256", "ES256", "EdDSA"]).claims
    expected = {
        "iss": {"essential": True, "value": meta["issuer"]},
        "aud": {"essential": True, "value": client_id},
        "exp": {"essential": True},
        "sub": {"essential": True},
    }
    if nonce is not None:
        expected["nonce"] = {"essential": True, "value": nonce}
    jwt.JWTClaimsRegistry(**expected).validate(claims)
    return claims
