-- Open311 GeoReport v2 (`/open311/v2`): outside systems (a hotline, a county platform)
-- file and follow reports with a key a township administrator issued them.

-- A report filed through Open311 is recorded with channel `api`.
ALTER TABLE intake.reports DROP CONSTRAINT reports_channel_check;
ALTER TABLE intake.reports ADD CONSTRAINT reports_channel_check
    CHECK (channel IN ('qr', 'assisted', 'api'));

-- The keys, one per integration: part of the directory (routing writes them, intake
-- reads them). Only the SHA-256 of a key is kept; the key is shown once.
CREATE TABLE routing.open311_keys (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES routing.tenants (id),
    name text NOT NULL CONSTRAINT open311_keys_name_length CHECK (char_length(name) BETWEEN 1 AND 60),
    key_hash bytea NOT NULL,
    created_by uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz,
    last_used_at timestamptz,
    CONSTRAINT open311_keys_tenant_id_key UNIQUE (tenant_id, id)
);
CREATE UNIQUE INDEX open311_keys_hash ON routing.open311_keys (key_hash);
SELECT public.mashang_enable_tenant_rls('routing.open311_keys');
SELECT routing.log_changes_of('routing.open311_keys', '{name}', 'tenant_id', '{last_used_at}', '{key_hash}');

-- Which integration filed which report, and what Open311 carries beyond a QR report:
-- the address as given, a link to a photo, and the contact details a report has no
-- column for (e-mail, device and account ids), each sealed and bound to its row.
CREATE TABLE intake.open311_requests (
    tenant_id uuid NOT NULL,
    report_id uuid PRIMARY KEY,
    key_id uuid NOT NULL,
    address_string text CONSTRAINT open311_requests_address_length CHECK (char_length(address_string) <= 250),
    media_url text CONSTRAINT open311_requests_media_url_length CHECK (char_length(media_url) <= 1000),
    email_sealed bytea,
    device_id_sealed bytea,
    account_id_sealed bytea,
    CONSTRAINT open311_requests_report_fkey FOREIGN KEY (tenant_id, report_id)
        REFERENCES intake.reports (tenant_id, id),
    CONSTRAINT open311_requests_key_fkey FOREIGN KEY (tenant_id, key_id)
        REFERENCES routing.open311_keys (tenant_id, id)
);
CREATE INDEX open311_requests_key ON intake.open311_requests (key_id, tenant_id);
SELECT public.mashang_enable_tenant_rls('intake.open311_requests');

-- servicerequestupdates.json reads the steps by when they happened.
CREATE INDEX report_steps_occurred ON intake.report_steps (occurred_at, tenant_id);
