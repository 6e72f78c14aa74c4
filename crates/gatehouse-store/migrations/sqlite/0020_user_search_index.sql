-- Admin user search (by email prefix, email fragment or name) through a trigram index instead of
-- reading every row: an FTS5 table over "first last email" of each live user, holding no copy
-- of the text (contentless) and kept in step by the triggers below. The trigram tokenizer
-- folds case and matches any substring of three characters or more; the store rechecks each
-- candidate against the user row, so results stay those of a case-insensitive substring match.
CREATE VIRTUAL TABLE users_search USING fts5(
    search_text,
    content = '',
    contentless_delete = 1,
    tokenize = 'trigram case_sensitive 0'
);

-- The users there before this migration.
INSERT INTO users_search (rowid, search_text)
SELECT id, COALESCE(first_name, '') || ' ' || COALESCE(last_name, '') || ' ' || COALESCE(email, '')
FROM users WHERE deleted_at IS NULL;

CREATE TRIGGER users_search_on_insert AFTER INSERT ON users WHEN NEW.deleted_at IS NULL
BEGIN
    INSERT INTO users_search (rowid, search_text) VALUES (NEW.id,
        COALESCE(NEW.first_name, '') || ' ' || COALESCE(NEW.last_name, '') || ' ' || COALESCE(NEW.email, ''));
END;

-- Only a change to what is searched (or to whether the user is live) rewrites the entry: a
-- sign-in's counters do not touch the index.
CREATE TRIGGER users_search_on_update AFTER UPDATE OF first_name, last_name, email, deleted_at ON users
BEGIN
    DELETE FROM users_search WHERE rowid = OLD.id;
    INSERT INTO users_search (rowid, search_text)
    SELECT NEW.id,
        COALESCE(NEW.first_name, '') || ' ' || COALESCE(NEW.last_name, '') || ' ' || COALESCE(NEW.email, '')
    WHERE NEW.deleted_at IS NULL;
END;

CREATE TRIGGER users_search_on_delete AFTER DELETE ON users
BEGIN
    DELETE FROM users_search WHERE rowid = OLD.id;
END;
