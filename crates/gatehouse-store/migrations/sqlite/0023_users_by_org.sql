-- An organization's user list (`GET /api/v1/orgs/{id}/users`) reads the live users whose active
-- organization it is: through this index, the rows of that organization only, not every user.
CREATE INDEX users_org_slug ON users (org_slug) WHERE deleted_at IS NULL;
