-- The admin dashboard's counts, kept as things happen so that reading them costs the same at a
-- million users as at ten (counting users, MFA enrolments or a month of sign-ins row by row does
-- not: docs/benchmarks.md).

-- Counts per UTC day (`YYYY-MM-DD`): sign_ins, sign_in_failures, emails_sent, emails_failed,
-- sms_sent and sms_failed are added to by the server; sign_ups (users created that day) and
-- last_sign_ins (users whose latest sign-in was that day) by the triggers below.
CREATE TABLE daily_counts (
    name TEXT NOT NULL,
    day TEXT NOT NULL,
    count INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (name, day)
) WITHOUT ROWID;

-- Running totals of live users, kept by the triggers below: users, users_with_otp,
-- users_with_sms_mfa, users_with_email_mfa, users_with_mfa (any of the three) and
-- users_with_passkeys.
CREATE TABLE user_counts (
    name TEXT PRIMARY KEY,
    count INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

-- When the user last signed in (a code exchanged for tokens), as login_count counts them.
ALTER TABLE users ADD COLUMN last_sign_in_at TEXT;

-- What happened before this migration, from the logs that recorded it.
UPDATE users SET last_sign_in_at = latest.at
FROM (SELECT user_id, MAX(created_at) AS at FROM sign_in_logs GROUP BY user_id) AS latest
WHERE users.id = latest.user_id;

INSERT INTO daily_counts (name, day, count)
SELECT 'sign_ins', substr(created_at, 1, 10), COUNT(*) FROM sign_in_logs GROUP BY 2;
INSERT INTO daily_counts (name, day, count)
SELECT 'sign_ups', substr(created_at, 1, 10), COUNT(*) FROM users GROUP BY 2;
INSERT INTO daily_counts (name, day, count)
SELECT 'last_sign_ins', substr(last_sign_in_at, 1, 10), COUNT(*) FROM users
WHERE last_sign_in_at IS NOT NULL GROUP BY 2;
INSERT INTO daily_counts (name, day, count)
SELECT CASE WHEN success = 1 THEN 'emails_sent' ELSE 'emails_failed' END, substr(created_at, 1, 10), COUNT(*)
FROM email_logs GROUP BY 1, 2;
INSERT INTO daily_counts (name, day, count)
SELECT CASE WHEN success = 1 THEN 'sms_sent' ELSE 'sms_failed' END, substr(created_at, 1, 10), COUNT(*)
FROM sms_logs GROUP BY 1, 2;

INSERT INTO user_counts (name, count)
SELECT 'users', COUNT(*) FROM users WHERE deleted_at IS NULL
UNION ALL
SELECT 'users_with_otp', COUNT(*) FROM users
WHERE deleted_at IS NULL AND instr(',' || mfa_types || ',', ',otp,') > 0
UNION ALL
SELECT 'users_with_sms_mfa', COUNT(*) FROM users
WHERE deleted_at IS NULL AND instr(',' || mfa_types || ',', ',sms,') > 0
UNION ALL
SELECT 'users_with_email_mfa', COUNT(*) FROM users
WHERE deleted_at IS NULL AND instr(',' || mfa_types || ',', ',email,') > 0
UNION ALL
SELECT 'users_with_mfa', COUNT(*) FROM users
WHERE deleted_at IS NULL AND (instr(',' || mfa_types || ',', ',otp,') > 0
    OR instr(',' || mfa_types || ',', ',sms,') > 0 OR instr(',' || mfa_types || ',', ',email,') > 0)
UNION ALL
SELECT 'users_with_passkeys', COUNT(DISTINCT p.user_id) FROM user_passkeys p
JOIN users u ON u.id = p.user_id WHERE p.deleted_at IS NULL AND u.deleted_at IS NULL;

-- From here on the triggers keep the counts. A live user counts toward `users` and toward the
-- total of each factor its mfa_types lists (a comma-separated list: otp, sms, email).
CREATE TRIGGER users_counted_on_insert AFTER INSERT ON users
BEGIN
    UPDATE user_counts SET count = count + 1 WHERE NEW.deleted_at IS NULL AND (
        name = 'users'
        OR (name = 'users_with_otp' AND instr(',' || NEW.mfa_types || ',', ',otp,') > 0)
        OR (name = 'users_with_sms_mfa' AND instr(',' || NEW.mfa_types || ',', ',sms,') > 0)
        OR (name = 'users_with_email_mfa' AND instr(',' || NEW.mfa_types || ',', ',email,') > 0)
        OR (name = 'users_with_mfa' AND (instr(',' || NEW.mfa_types || ',', ',otp,') > 0
            OR instr(',' || NEW.mfa_types || ',', ',sms,') > 0
            OR instr(',' || NEW.mfa_types || ',', ',email,') > 0)));
    INSERT INTO daily_counts (name, day, count) VALUES ('sign_ups', substr(NEW.created_at, 1, 10), 1)
    ON CONFLICT (name, day) DO UPDATE SET count = count + 1;
END;

CREATE TRIGGER users_counted_on_update AFTER UPDATE OF mfa_types, deleted_at ON users
WHEN OLD.mfa_types IS NOT NEW.mfa_types OR (OLD.deleted_at IS NULL) <> (NEW.deleted_at IS NULL)
BEGIN
    UPDATE user_counts SET count = count - 1 WHERE OLD.deleted_at IS NULL AND (
        name = 'users'
        OR (name = 'users_with_otp' AND instr(',' || OLD.mfa_types || ',', ',otp,') > 0)
        OR (name = 'users_with_sms_mfa' AND instr(',' || OLD.mfa_types || ',', ',sms,') > 0)
        OR (name = 'users_with_email_mfa' AND instr(',' || OLD.mfa_types || ',', ',email,') > 0)
        OR (name = 'users_with_mfa' AND (instr(',' || OLD.mfa_types || ',', ',otp,') > 0
            OR instr(',' || OLD.mfa_types || ',', ',sms,') > 0
            OR instr(',' || OLD.mfa_types || ',', ',email,') > 0)));
    UPDATE user_counts SET count = count + 1 WHERE NEW.deleted_at IS NULL AND (
        name = 'users'
        OR (name = 'users_with_otp' AND instr(',' || NEW.mfa_types || ',', ',otp,') > 0)
        OR (name = 'users_with_sms_mfa' AND instr(',' || NEW.mfa_types || ',', ',sms,') > 0)
        OR (name = 'users_with_email_mfa' AND instr(',' || NEW.mfa_types || ',', ',email,') > 0)
        OR (name = 'users_with_mfa' AND (instr(',' || NEW.mfa_types || ',', ',otp,') > 0
            OR instr(',' || NEW.mfa_types || ',', ',sms,') > 0
            OR instr(',' || NEW.mfa_types || ',', ',email,') > 0)));
END;

CREATE TRIGGER users_counted_on_delete AFTER DELETE ON users
BEGIN
    UPDATE user_counts SET count = count - 1 WHERE OLD.deleted_at IS NULL AND (
        name = 'users'
        OR (name = 'users_with_otp' AND instr(',' || OLD.mfa_types || ',', ',otp,') > 0)
        OR (name = 'users_with_sms_mfa' AND instr(',' || OLD.mfa_types || ',', ',sms,') > 0)
        OR (name = 'users_with_email_mfa' AND instr(',' || OLD.mfa_types || ',', ',email,') > 0)
        OR (name = 'users_with_mfa' AND (instr(',' || OLD.mfa_types || ',', ',otp,') > 0
            OR instr(',' || OLD.mfa_types || ',', ',sms,') > 0
            OR instr(',' || OLD.mfa_types || ',', ',email,') > 0)));
END;

-- A user counts as active on the day of their latest sign-in: moving it moves them.
CREATE TRIGGER users_last_sign_in_counted AFTER UPDATE OF last_sign_in_at ON users
WHEN substr(OLD.last_sign_in_at, 1, 10) IS NOT substr(NEW.last_sign_in_at, 1, 10)
BEGIN
    INSERT INTO daily_counts (name, day, count)
    SELECT 'last_sign_ins', substr(OLD.last_sign_in_at, 1, 10), -1 WHERE OLD.last_sign_in_at IS NOT NULL
    ON CONFLICT (name, day) DO UPDATE SET count = count - 1;
    INSERT INTO daily_counts (name, day, count)
    SELECT 'last_sign_ins', substr(NEW.last_sign_in_at, 1, 10), 1 WHERE NEW.last_sign_in_at IS NOT NULL
    ON CONFLICT (name, day) DO UPDATE SET count = count + 1;
END;

-- A user counts toward users_with_passkeys while they hold at least one live passkey.
CREATE TRIGGER user_passkeys_counted_on_insert AFTER INSERT ON user_passkeys
WHEN NEW.deleted_at IS NULL AND NOT EXISTS (
    SELECT 1 FROM user_passkeys WHERE user_id = NEW.user_id AND deleted_at IS NULL AND id <> NEW.id)
BEGIN
    UPDATE user_counts SET count = count + 1 WHERE name = 'users_with_passkeys';
END;

CREATE TRIGGER user_passkeys_counted_on_update AFTER UPDATE OF deleted_at ON user_passkeys
WHEN (OLD.deleted_at IS NULL) <> (NEW.deleted_at IS NULL) AND NOT EXISTS (
    SELECT 1 FROM user_passkeys WHERE user_id = NEW.user_id AND deleted_at IS NULL AND id <> NEW.id)
BEGIN
    UPDATE user_counts SET count = count + CASE WHEN NEW.deleted_at IS NULL THEN 1 ELSE -1 END
    WHERE name = 'users_with_passkeys';
END;

CREATE TRIGGER user_passkeys_counted_on_delete AFTER DELETE ON user_passkeys
WHEN OLD.deleted_at IS NULL AND NOT EXISTS (
    SELECT 1 FROM user_passkeys WHERE user_id = OLD.user_id AND deleted_at IS NULL)
BEGIN
    UPDATE user_counts SET count = count - 1 WHERE name = 'users_with_passkeys';
END;
