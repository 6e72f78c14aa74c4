-- Whether an app may use the device authorization grant (RFC 8628); off unless an operator turns
-- it on, since a device code can be phished.
ALTER TABLE apps ADD COLUMN allow_device_flow BOOLEAN NOT NULL DEFAULT FALSE;
