-- An import of many users in one transaction would move the same few `user_counts` rows once per
-- user; each move leaves a row version the next one steps over, so a million-user import slowed
-- as it went. A transaction that sets `gatehouse.deferred_counts` to 'on' (SET LOCAL) has the
-- counting triggers of users and passkeys (migration 0018) not fire, and counts what it wrote
-- itself before it commits. The import writes no sign-ins, so their trigger stays as it is.
CREATE FUNCTION counts_deferred() RETURNS BOOLEAN LANGUAGE sql STABLE AS $$
    SELECT COALESCE(current_setting('gatehouse.deferred_counts', true), '') = 'on'
$$;

DROP TRIGGER users_counted_on_insert_or_delete ON users;
CREATE TRIGGER users_counted_on_insert_or_delete AFTER INSERT OR DELETE ON users
FOR EACH ROW WHEN (NOT counts_deferred()) EXECUTE FUNCTION count_users();

DROP TRIGGER users_counted_on_update ON users;
CREATE TRIGGER users_counted_on_update AFTER UPDATE OF mfa_types, deleted_at ON users
FOR EACH ROW WHEN (NOT counts_deferred() AND (OLD.mfa_types IS DISTINCT FROM NEW.mfa_types
    OR (OLD.deleted_at IS NULL) <> (NEW.deleted_at IS NULL)))
EXECUTE FUNCTION count_users();

DROP TRIGGER user_passkeys_counted_on_insert ON user_passkeys;
CREATE TRIGGER user_passkeys_counted_on_insert AFTER INSERT ON user_passkeys
REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT WHEN (NOT counts_deferred())
EXECUTE FUNCTION count_passkey_users_on_insert();

DROP TRIGGER user_passkeys_counted_on_update ON user_passkeys;
CREATE TRIGGER user_passkeys_counted_on_update AFTER UPDATE ON user_passkeys
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT WHEN (NOT counts_deferred()) EXECUTE FUNCTION count_passkey_users_on_update();

DROP TRIGGER user_passkeys_counted_on_delete ON user_passkeys;
CREATE TRIGGER user_passkeys_counted_on_delete AFTER DELETE ON user_passkeys
REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT WHEN (NOT counts_deferred())
EXECUTE FUNCTION count_passkey_users_on_delete();
