-- Named values the server keeps about itself, such as when the seed data was written.
CREATE TABLE server_settings (
    name VARCHAR(100) PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at TIMESTAMP(0) NOT NULL DEFAULT (now() AT TIME ZONE 'utc')
);
