-- Scheduled key rotation: a key may be published before it signs (from `activate_at`; NULL:
-- from its creation), and a scheduled key names the key it succeeds. A key has one successor,
-- so instances racing to publish it make one key.
ALTER TABLE signing_keys ADD COLUMN activate_at TEXT;
ALTER TABLE signing_keys ADD COLUMN predecessor_id INTEGER REFERENCES signing_keys(id);
CREATE UNIQUE INDEX signing_keys_predecessor_key ON signing_keys (predecessor_id);

-- Leases on background jobs that one instance at a time should run (log pruning).
CREATE TABLE job_leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    lease_until TEXT NOT NULL
);
