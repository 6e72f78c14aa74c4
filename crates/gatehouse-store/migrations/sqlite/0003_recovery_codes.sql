-- A user's recovery codes: several, each single-use, kept as SHA-256 of a high-entropy code.
CREATE TABLE user_recovery_codes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    used_at TEXT,
    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    deleted_at TEXT
);
CREATE UNIQUE INDEX user_recovery_codes_user_id_code_hash_key ON user_recovery_codes (user_id, code_hash) WHERE deleted_at IS NULL;
