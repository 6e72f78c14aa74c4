-- APIs (resource servers, RFC 8707) that access tokens may be issued for: the identifier is the
-- token's `aud`; `scopes` is a JSON array of the scope names the API defines;
-- `token_exchange_client_ids` the apps that may exchange a user's token for one to this API.
CREATE TABLE resource_servers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    identifier TEXT NOT NULL,
    name TEXT NOT NULL,
    scopes TEXT NOT NULL DEFAULT '[]',
    access_token_expires_in INTEGER,
    introspection_client_id TEXT,
    token_exchange_client_ids TEXT NOT NULL DEFAULT '[]',
    is_active INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    deleted_at TEXT
);
CREATE UNIQUE INDEX resource_servers_identifier_uidx ON resource_servers (identifier)
    WHERE deleted_at IS NULL;
-- The API a refresh token's family was granted for (its access tokens' audience), if any.
ALTER TABLE refresh_tokens ADD COLUMN resource TEXT;
