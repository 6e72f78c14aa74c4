-- Webhook deliveries: when the last attempt was made (the delivery log shows it), and how many
-- attempts came before the last "send again" (its retries count from there, while `attempts`
-- only grows, so an instance that read the row before can never claim it again).
ALTER TABLE webhook_deliveries ADD COLUMN last_attempt_at TIMESTAMP(0);
ALTER TABLE webhook_deliveries ADD COLUMN attempts_at_resend INTEGER NOT NULL DEFAULT 0;

-- Retention removes settled deliveries by age, then the events none is left for.
CREATE INDEX webhook_deliveries_created_at_idx ON webhook_deliveries (created_at);
CREATE INDEX webhook_events_created_at_idx ON webhook_events (created_at);
