-- An import of many users in one transaction would move the same few `user_counts` rows once per
-- user; each move leaves a row version the next one steps over, so a million-user import slowed
-- from 700 to 260 users a second. A transaction that sets `gatehouse.deferred_counts` to 'on'
-- (SET LOCAL) has the counting triggers skip, and counts what it wrote itself before it commits.
-- Only the users' and passkeys' triggers are deferred: the import writes no sign-ins.
CREATE OR REPLACE FUNCTION counts_deferred() RETURNS BOOLEAN LANGUAGE sql STABLE AS $$
    SELECT COALESCE(current_setting('gatehouse.deferred_counts', true), '') = 'on'
$$;

CREATE OR REPLACE FUNCTION count_users() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    left_names TEXT[] := ARRAY[]::TEXT[];
    entered_names TEXT[] := ARRAY[]::TEXT[];
    counted TEXT;
    delta INTEGER;
BEGIN
    IF counts_deferred() THEN
        RETURN NULL;
    END IF;
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

CREATE OR REPLACE FUNCTION count_passkey_users(touched BIGINT[], was_live BIGINT[], holders BIGINT[])
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    holder BIGINT;
    before_live BOOLEAN;
    after_live BOOLEAN;
    delta INTEGER := 0;
BEGIN
    IF counts_deferred() THEN
        RETURN;
    END IF;
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
