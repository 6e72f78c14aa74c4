-- How the user proved themselves (RFC 8176 `amr` values, a JSON array): kept with a browser
-- session, so a single sign-on says what the original sign-in passed, and with a refresh token,
-- so the access tokens it gives can say it too. NULL: not known (rows from before).
ALTER TABLE browser_sessions ADD COLUMN amr TEXT;
ALTER TABLE refresh_tokens ADD COLUMN amr TEXT;
