-- Apps whose ID tokens follow OIDC's claim rules only (each claim with its scope or when asked
-- by name; no roles or Melody's first_name/last_name); off keeps Melody's shape.
ALTER TABLE apps ADD COLUMN standard_claims BOOLEAN NOT NULL DEFAULT FALSE;
