-- Citizen intake: attachments uploaded ahead of the report, idempotent submissions,
-- ratings, status look-ups by phone digits, burst flags, housekeeping; and what
-- routing keeps of the citizen's contact for the assignee (sealed) with an audit of
-- every unmasked view.

ALTER TABLE intake.attachments
    ADD COLUMN qr_code_id uuid,
    ADD COLUMN thumbnail_key text,
    -- Read from the photo's EXIF before it was removed; kept only until the report
    -- decides (the citizen allowed location or not), then cleared.
    ADD COLUMN gps_lat double precision,
    ADD COLUMN gps_lng double precision,
    ADD COLUMN duration_ms integer;
CREATE INDEX attachments_orphans ON intake.attachments (created_at) WHERE report_id IS NULL;

ALTER TABLE intake.reports
    ADD COLUMN flags text[] NOT NULL DEFAULT '{}',
    ADD COLUMN submitted_by uuid;
CREATE INDEX reports_qr_day ON intake.reports (tenant_id, qr_code_id, submitted_at);

-- The intake housekeeper (orphan uploads, old idempotency keys) works across tenants.
CREATE POLICY attachments_housekeeping ON intake.attachments
    USING (current_setting('app.intake_housekeeping', true) = 'on');

CREATE TABLE intake.idempotency_keys (
    tenant_id uuid NOT NULL,
    key text NOT NULL CONSTRAINT idempotency_keys_key_length CHECK (char_length(key) BETWEEN 1 AND 100),
    request_hash bytea NOT NULL,
    report_id uuid,
    -- The first answer, sealed (it carries the status link's secret).
    response_sealed bytea,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, key)
);
SELECT public.mashang_enable_tenant_rls('intake.idempotency_keys');
CREATE POLICY idempotency_housekeeping ON intake.idempotency_keys
    USING (current_setting('app.intake_housekeeping', true) = 'on');

CREATE TABLE intake.ratings (
    tenant_id uuid NOT NULL,
    report_id uuid PRIMARY KEY,
    resolved boolean NOT NULL,
    satisfaction text NOT NULL
        CONSTRAINT ratings_satisfaction_check CHECK (satisfaction IN ('satisfied', 'basically_satisfied', 'unsatisfied')),
    comment text CONSTRAINT ratings_comment_length CHECK (char_length(comment) <= 500),
    rated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT ratings_report_fkey FOREIGN KEY (tenant_id, report_id)
        REFERENCES intake.reports (tenant_id, id)
);
SELECT public.mashang_enable_tenant_rls('intake.ratings');

-- Failed look-ups by tracking number and phone digits, to throttle guessing.
CREATE TABLE intake.lookup_failures (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tracking_number text NOT NULL,
    address text NOT NULL,
    failed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX lookup_failures_number ON intake.lookup_failures (tracking_number, failed_at);
CREATE INDEX lookup_failures_address ON intake.lookup_failures (address, failed_at);

ALTER TABLE routing.cases
    ADD COLUMN contact_name text,
    ADD COLUMN contact_phone_masked text,
    -- Sealed with the deployment's personal-data key; opened only for the assignee.
    ADD COLUMN contact_phone_sealed bytea,
    ADD COLUMN lat double precision,
    ADD COLUMN lng double precision,
    ADD COLUMN attachments jsonb NOT NULL DEFAULT '[]'::jsonb,
    ADD COLUMN channel text NOT NULL DEFAULT 'qr',
    ADD COLUMN flags text[] NOT NULL DEFAULT '{}';

-- Every unmasked view of a citizen's personal data.
CREATE TABLE routing.pii_views (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL,
    case_id uuid NOT NULL,
    viewer_id uuid NOT NULL,
    field text NOT NULL,
    viewed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX pii_views_case ON routing.pii_views (tenant_id, case_id, viewed_at);
SELECT public.mashang_enable_tenant_rls('routing.pii_views');
