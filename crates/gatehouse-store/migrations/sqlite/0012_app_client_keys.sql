-- High-assurance clients: authorization requests only by push (RFC 9126), client
-- authentication with a key (RFC 7523: the app's JWKS by value or by URL), access tokens bound
-- to a DPoP key (RFC 9449), and signed request objects (RFC 9101).
ALTER TABLE apps ADD COLUMN require_pushed_authorization_requests INTEGER NOT NULL DEFAULT 0
    CHECK (require_pushed_authorization_requests IN (0, 1));
-- NULL: the app's secret (HTTP Basic or the form); 'private_key_jwt': only a signed assertion.
ALTER TABLE apps ADD COLUMN token_endpoint_auth_method TEXT;
ALTER TABLE apps ADD COLUMN jwks TEXT;
ALTER TABLE apps ADD COLUMN jwks_uri TEXT;
ALTER TABLE apps ADD COLUMN dpop_bound_access_tokens INTEGER NOT NULL DEFAULT 0
    CHECK (dpop_bound_access_tokens IN (0, 1));
ALTER TABLE apps ADD COLUMN request_object_signing_alg TEXT;
-- The DPoP key (RFC 7638 thumbprint) a public client's refresh family is bound to (RFC 9449 §5).
ALTER TABLE refresh_tokens ADD COLUMN dpop_jkt TEXT;
