-- One live user per provider identity: a race between two first sign-ins cannot make two.
CREATE UNIQUE INDEX users_live_social_account_uidx ON users (social_account_type, social_account_id)
    WHERE social_account_id IS NOT NULL AND deleted_at IS NULL;
