-- Claims the authorization's `claims` parameter asked for at userinfo (a JSON array), so the
-- access tokens a refresh gives ask for them too. NULL: none.
ALTER TABLE refresh_tokens ADD COLUMN userinfo_claims TEXT;
