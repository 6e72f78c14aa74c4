-- Clients, continued: the FAPI 2.0 switch, self-registration, logout channels (with the
-- sessions' apps and the notices owed to them), URL client ids and sealed secrets.
-- Held to the FAPI 2.0 Security Profile: PAR, PKCE S256, private_key_jwt, DPoP, short codes.
ALTER TABLE apps ADD COLUMN fapi2_security_profile INTEGER NOT NULL DEFAULT 0
    CHECK (fapi2_security_profile IN (0, 1));
-- Apps registered by themselves (RFC 7591): the SHA-256 of the token that reads, changes and
-- deletes their registration (RFC 7592).
ALTER TABLE apps ADD COLUMN registration_token_hash TEXT;

-- OIDC back-channel and front-channel logout: where each app hears that a user's session ended.
ALTER TABLE apps ADD COLUMN backchannel_logout_uri TEXT;
ALTER TABLE apps ADD COLUMN backchannel_logout_session_required INTEGER NOT NULL DEFAULT 0
    CHECK (backchannel_logout_session_required IN (0, 1));
ALTER TABLE apps ADD COLUMN frontchannel_logout_uri TEXT;
ALTER TABLE apps ADD COLUMN frontchannel_logout_session_required INTEGER NOT NULL DEFAULT 0
    CHECK (frontchannel_logout_session_required IN (0, 1));

-- The apps a browser session signed in to (each got an ID token with the session's `sid`).
CREATE TABLE browser_session_apps (
    session_id INTEGER NOT NULL REFERENCES browser_sessions(id) ON DELETE CASCADE,
    app_id INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    PRIMARY KEY (session_id, app_id)
);

-- Logout tokens owed to apps, written in the transaction that ends the session and sent from
-- here by any instance; a row goes when its app answered or its retries ran out.
CREATE TABLE logout_notices (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    app_id INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    subject TEXT NOT NULL,
    session_id INTEGER,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX logout_notices_next_attempt_at_idx ON logout_notices (next_attempt_at);

-- Sessions that ran out idle are ended (and told to their apps) by a sweep over this index.
CREATE INDEX browser_sessions_live_expires_at_idx ON browser_sessions (expires_at)
    WHERE revoked_at IS NULL AND deleted_at IS NULL;

-- The client secret sealed with the master key, for apps that authenticate with
-- client_secret_jwt (an HMAC needs the secret itself; other apps keep only its hash).
ALTER TABLE apps ADD COLUMN secret_sealed TEXT;
