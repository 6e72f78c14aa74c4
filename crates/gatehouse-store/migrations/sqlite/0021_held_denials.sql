-- Denials that must outlive the cache: an account locked out by failed passwords and a revoked
-- access token live in the cache for speed, and here so that a cache that loses its contents
-- (Redis flushed or restarted without persistence, the in-process cache at a restart) gets them
-- back instead of lifting them. `key` is the cache key the denial is read under; `subject` is
-- what an admin lifts it by (the email of a lockout, the token's jti).
CREATE TABLE held_denials (
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    subject TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    PRIMARY KEY (kind, key)
);
CREATE INDEX held_denials_subject ON held_denials (kind, subject);
CREATE INDEX held_denials_expires_at ON held_denials (expires_at);
