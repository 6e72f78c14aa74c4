-- SCIM 2.0 provisioning: the `userName` and `externalId` a provisioning client gives a user, so
-- they round-trip (RFC 7643 §4.1, §3.1). NULL: the user was not named through SCIM, and SCIM shows
-- the email as the userName. A userName names one live user, whatever its case.
ALTER TABLE users ADD COLUMN scim_user_name TEXT;
ALTER TABLE users ADD COLUMN scim_external_id TEXT;
CREATE UNIQUE INDEX users_scim_user_name_key ON users (LOWER(scim_user_name))
    WHERE scim_user_name IS NOT NULL AND deleted_at IS NULL;
