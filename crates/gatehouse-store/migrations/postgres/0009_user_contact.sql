-- OIDC Core §5.1 contact claims set by the management API and the admin panel: a phone number
-- (E.164) and a postal address (a JSON object of the §5.1.1 members). The `phone` and `address`
-- scopes ask for them.
ALTER TABLE users ADD COLUMN phone_number TEXT;
ALTER TABLE users ADD COLUMN address TEXT;
