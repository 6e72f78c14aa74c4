-- The admin dashboard's counts, kept as things happen so that reading them costs the same at a
-- million users as at ten (counting users, MFA enrolments or a month of sign-ins row by row does
-- not: docs/benchmarks.md).

-- Counts per UTC day: sign_ins, sign_in_failures, emails_sent, emails_failed, sms_sent and
-- sms_failed are added to by the server; sign_ups (users created that day) and last_sign_ins
-- (users whose latest sign-in was that day) by the triggers below.
CREATE TABLE daily_counts (
    name TEXT NOT NULL,
    day DATE NOT NULL,
    count BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (name, day)
);

-- Running totals of live users, kept by the triggers below: users, users_with_otp,
-- users_with_sms_mfa, users_with_email_mfa, users_with_mfa (any of the three) and
-- users_with_passkeys.
CREATE TABLE user_counts (
    name TEXT PRIMARY KEY,
    count BIGINT NOT NULL DEFAULT 0
);

-- When the user last signed in (a code exchanged for tokens), as login_count counts them.
ALTER TABLE users ADD COLUMN last_sign_in_at TIMESTAMP(0);

-- What happened before this migration, from the logs that recorded it.
UPDATE users SET last_sign_in_at = latest.at
FROM (SELECT user_id, MAX(created_at) AS at FROM sign_in_logs GROUP BY user_id) AS latest
WHERE users.id = latest.user_id;

INSERT INTO daily_counts (name, day, count)
SELECT 'sign_ins', CAST(created_at AS DATE), COUNT(*) FROM sign_in_logs GROUP BY 2;
INSERT INTO daily_counts (name, day, count)
SELECT 'sign_ups', CAST(created_at AS DATE), COUNT(*) FROM users GROUP BY 2;
INSERT INTO daily_counts (name, day, count)
SELECT 'last_sign_ins', CAST(last_sign_in_at AS DATE), COUNT(*) FROM users
WHERE last_sign_in_at IS NOT NULL GROUP BY 2;
INSERT INTO daily_counts (name, day, count)
SELECT CASE WHEN success THEN 'emails_sent' ELSE 'emails_failed' END, CAST(created_at AS DATE), COUNT(*)
FROM email_logs GROUP BY 1, 2;
INSERT INTO daily_counts (name, day, count)
SELECT CASE WHEN success THEN 'sms_sent' ELSE 'sms_failed' END, CAST(created_at AS DATE), COUNT(*)
FROM sms_logs GROUP BY 1, 2;

-- The totals a live user counts toward, by its mfa_types (a comma-separated list: otp, sms,
-- email), in name order.
CREATE FUNCTION user_count_names(mfa_types TEXT) RETURNS TEXT[] LANGUAGE sql IMMUTABLE AS $$
    SELECT ARRAY['users']
        || CASE WHEN ',' || mfa_types || ',' LIKE '%,email,%' THEN ARRAY['users_with_email_mfa'] ELSE ARRAY[]::TEXT[] END
        || CASE WHEN ',' || mfa_types || ',' LIKE '%,otp,%' OR ',' || mfa_types || ',' LIKE '%,sms,%'
                OR ',' || mfa_types || ',' LIKE '%,email,%' THEN ARRAY['users_with_mfa'] ELSE ARRAY[]::TEXT[] END
        || CASE WHEN ',' || mfa_types || ',' LIKE '%,otp,%' THEN ARRAY['users_with_otp'] ELSE ARRAY[]::TEXT[] END
        || CASE WHEN ',' || mfa_types || ',' LIKE '%,sms,%' THEN ARRAY['users_with_sms_mfa'] ELSE ARRAY[]::TEXT[] END
$$;

INSERT INTO user_counts (name, count)
SELECT 'users', COUNT(*) FROM users WHERE deleted_at IS NULL
UNION ALL
SELECT counted, COUNT(*) FROM users, unnest(user_count_names(mfa_types)) AS counted
WHERE deleted_at IS NULL AND counted <> 'users' GROUP BY counted
UNION ALL
SELECT 'users_with_passkeys', COUNT(DISTINCT p.user_id) FROM user_passkeys p
JOIN users u ON u.id = p.user_id WHERE p.deleted_at IS NULL AND u.deleted_at IS NULL;
INSERT INTO user_counts (name, count)
SELECT missing, 0 FROM unnest(ARRAY['users_with_email_mfa', 'users_with_mfa', 'users_with_otp',
    'users_with_sms_mfa']) AS missing
WHERE missing NOT IN (SELECT name FROM user_counts);

-- From here on the triggers keep the counts. Each change of a user moves the totals it leaves
-- and enters, one row at a time in name order, so that two changes never wait for each other
-- in opposite orders.
CREATE FUNCTION count_users() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    left_names TEXT[] := ARRAY[]::TEXT[];
    entered_names TEXT[] := ARRAY[]::TEXT[];
    counted TEXT;
    delta INTEGER;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        IF OLD.deleted_at IS NULL THEN
            left_names := user_count_names(OLD.mfa_types);
        END IF;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        IF NEW.deleted_at IS NULL THEN
            entered_names := user_count_names(NEW.mfa_types);
        END IF;
    END IF;
    FOR counted IN SELECT DISTINCT n FROM unnest(left_names || entered_names) AS n ORDER BY n LOOP
        delta := (CASE WHEN counted = ANY (entered_names) THEN 1 ELSE 0 END)
            - (CASE WHEN counted = ANY (left_names) THEN 1 ELSE 0 END);
        IF delta <> 0 THEN
            UPDATE user_counts SET count = count + delta WHERE name = counted;
        END IF;
    END LOOP;
    IF TG_OP = 'INSERT' THEN
        INSERT INTO daily_counts (name, day, count) VALUES ('sign_ups', CAST(NEW.created_at AS DATE), 1)
        ON CONFLICT (name, day) DO UPDATE SET count = daily_counts.count + 1;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER users_counted_on_insert_or_delete AFTER INSERT OR DELETE ON users
FOR EACH ROW EXECUTE FUNCTION count_users();
CREATE TRIGGER users_counted_on_update AFTER UPDATE OF mfa_types, deleted_at ON users
FOR EACH ROW WHEN (OLD.mfa_types IS DISTINCT FROM NEW.mfa_types
    OR (OLD.deleted_at IS NULL) <> (NEW.deleted_at IS NULL))
EXECUTE FUNCTION count_users();

-- A user counts as active on the day of their latest sign-in: moving it moves them.
CREATE FUNCTION count_last_sign_in() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.last_sign_in_at IS NOT NULL THEN
        INSERT INTO daily_counts (name, day, count)
        VALUES ('last_sign_ins', CAST(OLD.last_sign_in_at AS DATE), -1)
        ON CONFLICT (name, day) DO UPDATE SET count = daily_counts.count - 1;
    END IF;
    IF NEW.last_sign_in_at IS NOT NULL THEN
        INSERT INTO daily_counts (name, day, count)
        VALUES ('last_sign_ins', CAST(NEW.last_sign_in_at AS DATE), 1)
        ON CONFLICT (name, day) DO UPDATE SET count = daily_counts.count + 1;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER users_last_sign_in_counted AFTER UPDATE OF last_sign_in_at ON users
FOR EACH ROW WHEN (CAST(OLD.last_sign_in_at AS DATE) IS DISTINCT FROM CAST(NEW.last_sign_in_at AS DATE))
EXECUTE FUNCTION count_last_sign_in();

-- A user counts toward users_with_passkeys while they hold at least one live passkey. The
-- triggers run once per statement, after it, and look at what it changed (a user's deletion
-- removes all their passkeys in one statement, so a row-by-row look would see the others gone
-- too). For each user a statement touched, `touched` are the ids of the rows it wrote and
-- `was_live` the users one of whose rows it changed was live before. The user's row is locked
-- first, so two statements on one user's passkeys see each other's result.
CREATE FUNCTION count_passkey_users(touched BIGINT[], was_live BIGINT[], holders BIGINT[])
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    holder BIGINT;
    before_live BOOLEAN;
    after_live BOOLEAN;
    delta INTEGER := 0;
BEGIN
    FOREACH holder IN ARRAY holders LOOP
        PERFORM 1 FROM users WHERE id = holder FOR NO KEY UPDATE;
        after_live := EXISTS (SELECT 1 FROM user_passkeys WHERE user_id = holder AND deleted_at IS NULL);
        before_live := holder = ANY (was_live) OR EXISTS (SELECT 1 FROM user_passkeys
            WHERE user_id = holder AND deleted_at IS NULL AND id <> ALL (touched));
        delta := delta + (CASE WHEN after_live THEN 1 ELSE 0 END) - (CASE WHEN before_live THEN 1 ELSE 0 END);
    END LOOP;
    IF delta <> 0 THEN
        UPDATE user_counts SET count = count + delta WHERE name = 'users_with_passkeys';
    END IF;
END
$$;

CREATE FUNCTION count_passkey_users_on_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM count_passkey_users(ARRAY(SELECT id FROM new_rows), ARRAY[]::BIGINT[],
        ARRAY(SELECT DISTINCT user_id FROM new_rows ORDER BY user_id));
    RETURN NULL;
END
$$;

CREATE FUNCTION count_passkey_users_on_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Most updates are a sign-in's counter and last use: nothing to count.
    IF NOT EXISTS (SELECT 1 FROM old_rows o JOIN new_rows n ON n.id = o.id
                   WHERE (o.deleted_at IS NULL) <> (n.deleted_at IS NULL) OR o.user_id <> n.user_id) THEN
        RETURN NULL;
    END IF;
    PERFORM count_passkey_users(ARRAY(SELECT id FROM new_rows),
        ARRAY(SELECT DISTINCT user_id FROM old_rows WHERE deleted_at IS NULL),
        ARRAY(SELECT user_id FROM old_rows UNION SELECT user_id FROM new_rows ORDER BY 1));
    RETURN NULL;
END
$$;

CREATE FUNCTION count_passkey_users_on_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM count_passkey_users(ARRAY[]::BIGINT[],
        ARRAY(SELECT DISTINCT user_id FROM old_rows WHERE deleted_at IS NULL),
        ARRAY(SELECT DISTINCT user_id FROM old_rows ORDER BY user_id));
    RETURN NULL;
END
$$;

CREATE TRIGGER user_passkeys_counted_on_insert AFTER INSERT ON user_passkeys
REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION count_passkey_users_on_insert();
CREATE TRIGGER user_passkeys_counted_on_update AFTER UPDATE ON user_passkeys
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION count_passkey_users_on_update();
CREATE TRIGGER user_passkeys_counted_on_delete AFTER DELETE ON user_passkeys
REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION count_passkey_users_on_delete();
