-- Intake: reports, their attachments, tracking numbers, status steps.

CREATE TABLE intake.reports (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL,
    tracking_number text NOT NULL,
    -- SHA-256 of the secret carried by the status link; the secret itself is not kept.
    status_secret_hash bytea NOT NULL,
    qr_code_id uuid,
    grid_node_id uuid NOT NULL,
    category text NOT NULL,
    description text NOT NULL CONSTRAINT reports_description_length CHECK (char_length(description) <= 2000),
    contact_name text CONSTRAINT reports_contact_name_length CHECK (char_length(contact_name) <= 50),
    -- The contact phone, encrypted (AES-256-GCM, nonce || ciphertext); never stored in clear.
    contact_phone_sealed bytea,
    contact_phone_last4 text,
    lat double precision CONSTRAINT reports_lat_range CHECK (lat BETWEEN -90 AND 90),
    lng double precision CONSTRAINT reports_lng_range CHECK (lng BETWEEN -180 AND 180),
    channel text NOT NULL CONSTRAINT reports_channel_check CHECK (channel IN ('qr', 'assisted')),
    status text NOT NULL DEFAULT 'submitted',
    case_id uuid,
    case_version bigint NOT NULL DEFAULT 0,
    submitted_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    CONSTRAINT reports_tracking_number_key UNIQUE (tenant_id, tracking_number),
    CONSTRAINT reports_tenant_id_key UNIQUE (tenant_id, id)
);
SELECT public.mashang_enable_tenant_rls('intake.reports');

CREATE TABLE intake.attachments (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL,
    report_id uuid,
    kind text NOT NULL CONSTRAINT attachments_kind_check CHECK (kind IN ('photo', 'voice')),
    content_type text NOT NULL,
    size bigint NOT NULL CONSTRAINT attachments_size_positive CHECK (size > 0),
    blob_key text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT attachments_report_fkey FOREIGN KEY (tenant_id, report_id)
        REFERENCES intake.reports (tenant_id, id)
);
CREATE INDEX attachments_report ON intake.attachments (tenant_id, report_id);
SELECT public.mashang_enable_tenant_rls('intake.attachments');

-- The citizen-visible steps of a report, newest last.
CREATE TABLE intake.report_steps (
    tenant_id uuid NOT NULL,
    report_id uuid NOT NULL,
    status text NOT NULL,
    occurred_at timestamptz NOT NULL,
    PRIMARY KEY (report_id, status),
    CONSTRAINT report_steps_report_fkey FOREIGN KEY (tenant_id, report_id)
        REFERENCES intake.reports (tenant_id, id)
);
SELECT public.mashang_enable_tenant_rls('intake.report_steps');

-- Per-tenant, per-local-day sequence behind tracking numbers.
CREATE TABLE intake.tracking_sequences (
    tenant_id uuid NOT NULL,
    day date NOT NULL,
    last_value integer NOT NULL,
    PRIMARY KEY (tenant_id, day)
);
SELECT public.mashang_enable_tenant_rls('intake.tracking_sequences');

-- Global lookup before the tenant is known: which tenant and report a tracking number
-- belongs to. Nothing else is here.
CREATE TABLE intake.tracking_numbers (
    tracking_number text PRIMARY KEY,
    tenant_id uuid NOT NULL,
    report_id uuid NOT NULL
);

SELECT public.mashang_create_outbox_inbox('intake');
