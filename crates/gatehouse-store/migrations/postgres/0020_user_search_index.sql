-- Admin user search (by email prefix, email fragment or name) through a trigram index instead of
-- reading every row: a pg_trgm GIN index on the very expression the store's search matches with
-- LIKE, over live users. PostgreSQL keeps it in step and rechecks each candidate, so results stay
-- those of a case-insensitive substring match; a term of one or two characters is answered
-- without it.
--
-- pg_trgm ships with PostgreSQL (contrib) and is a trusted extension: a database owner may create
-- it. It goes to `public` when missing; where it already lives elsewhere, that schema is used, so
-- the index does not depend on the connection's search_path.
CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public;

DO $$
DECLARE
    trgm_schema TEXT;
BEGIN
    SELECT n.nspname INTO trgm_schema
    FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
    WHERE e.extname = 'pg_trgm';
    EXECUTE format(
        'CREATE INDEX users_search_trgm ON users USING gin ('
        || '(LOWER(COALESCE(first_name, '''') || '' '' || COALESCE(last_name, '''') || '' '' '
        || '|| COALESCE(email, ''''))) %I.gin_trgm_ops) WHERE deleted_at IS NULL',
        trgm_schema);
END
$$;
