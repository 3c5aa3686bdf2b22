-- Intake hardening: what became of each photo's thumbnail (so an unreadable or
-- oversized photo is never decoded again), a short lease instead of a row lock while
-- the thumbnailer works, per-QR-code upload counts, and phone-digit guess counters
-- that are taken atomically.

ALTER TABLE intake.attachments
    -- pending: not tried yet (or a transient failure to retry after the lease);
    -- made: thumbnail_key holds it; too_large: over the decoding limits, kept as
    -- uploaded; unreadable: the decoder refused it; failed: storage kept failing.
    ADD COLUMN thumbnail_state text NOT NULL DEFAULT 'pending'
        CONSTRAINT attachments_thumbnail_state
        CHECK (thumbnail_state IN ('pending', 'made', 'too_large', 'unreadable', 'failed')),
    ADD COLUMN thumbnail_error text
        CONSTRAINT attachments_thumbnail_error_length CHECK (char_length(thumbnail_error) <= 500),
    ADD COLUMN thumbnail_attempts integer NOT NULL DEFAULT 0,
    -- While set in the future, one thumbnailer works on the photo (no lock is held).
    ADD COLUMN thumbnail_lease_until timestamptz;

UPDATE intake.attachments SET thumbnail_state = CASE
    WHEN thumbnail_key IS NULL THEN 'pending'
    WHEN thumbnail_key = '' THEN 'unreadable'
    ELSE 'made' END;
UPDATE intake.attachments SET thumbnail_key = NULL WHERE thumbnail_key = '';

CREATE INDEX attachments_thumbnail_pending ON intake.attachments (created_at)
    WHERE thumbnail_state = 'pending' AND kind = 'photo';
-- The store sweep asks whether a listed object is any row's file or thumbnail.
CREATE INDEX attachments_blob_key ON intake.attachments (blob_key);
CREATE INDEX attachments_thumbnail_key ON intake.attachments (thumbnail_key)
    WHERE thumbnail_key IS NOT NULL;

-- Uploads (files, inline or ahead) per QR code and hour, counted with one upsert.
CREATE TABLE intake.upload_counts (
    tenant_id uuid NOT NULL,
    qr_code_id uuid NOT NULL,
    hour timestamptz NOT NULL,
    uploads integer NOT NULL DEFAULT 0,
    bytes bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, qr_code_id, hour)
);
SELECT public.mashang_enable_tenant_rls('intake.upload_counts');
CREATE POLICY upload_counts_housekeeping ON intake.upload_counts
    USING (current_setting('app.intake_housekeeping', true) = 'on');

-- Phone-digit look-ups per subject (`number:<tracking number>` or `address:<ip>`) and
-- hour, reserved with one upsert before the digits are compared. Global, like the
-- tracking-number look-up it guards: it is consulted before the tenant is known.
CREATE TABLE intake.lookup_guesses (
    subject text NOT NULL CONSTRAINT lookup_guesses_subject_length CHECK (char_length(subject) <= 100),
    hour timestamptz NOT NULL,
    guesses integer NOT NULL DEFAULT 0,
    PRIMARY KEY (subject, hour)
);
CREATE INDEX lookup_guesses_hour ON intake.lookup_guesses (hour);

-- Replaced by lookup_guesses (it counted after the check, so concurrent guesses passed).
DROP TABLE intake.lookup_failures;
