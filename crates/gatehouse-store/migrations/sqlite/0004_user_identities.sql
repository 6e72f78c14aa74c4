-- Provider identities linked to an existing account (after its password), besides the identity a
-- social user was made from (users.social_account_type/id). One live account per identity.
CREATE TABLE user_identities (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    provider TEXT NOT NULL,
    subject TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    deleted_at TEXT
);
CREATE UNIQUE INDEX user_identities_live_uidx ON user_identities (provider, subject)
    WHERE deleted_at IS NULL;
CREATE INDEX user_identities_user_id_idx ON user_identities (user_id);
