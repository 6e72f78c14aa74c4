-- The algorithm an app's ID tokens, and a resource server's access tokens, are signed with
-- (`RS256`, `ES256`, `EdDSA`); NULL: the server's `signing_algorithm`.
ALTER TABLE apps ADD COLUMN id_token_signed_response_alg TEXT;
ALTER TABLE resource_servers ADD COLUMN signing_algorithm TEXT;
