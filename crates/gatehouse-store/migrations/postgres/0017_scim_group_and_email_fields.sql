-- SCIM 2.0 provisioning, continued: the `externalId` a provisioning client gives a group (a role or
-- an organization group, whichever SCIM Groups are), and the `type` and `primary` it gave the
-- user's email, so they round-trip (RFC 7643 §3.1, §2.4). NULL: never given through SCIM.
ALTER TABLE roles ADD COLUMN scim_external_id TEXT;
ALTER TABLE org_groups ADD COLUMN scim_external_id TEXT;
ALTER TABLE users ADD COLUMN scim_email_type TEXT;
ALTER TABLE users ADD COLUMN scim_email_primary BOOLEAN;
