-- Photos staff take on their phones of the measures on a case (the resolve form's
-- photos), uploaded with their session rather than a QR code. Routing keeps them: a
-- resolution may only name photos its own actor uploaded to the same case.
CREATE TABLE routing.case_attachments (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES routing.tenants (id),
    case_id uuid NOT NULL,
    uploaded_by uuid NOT NULL,
    blob_key text NOT NULL,
    content_type text NOT NULL,
    size_bytes bigint NOT NULL CONSTRAINT case_attachments_size_check CHECK (size_bytes > 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT case_attachments_case_fkey FOREIGN KEY (tenant_id, case_id)
        REFERENCES routing.cases (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT case_attachments_user_fkey FOREIGN KEY (tenant_id, uploaded_by)
        REFERENCES routing.staff_users (tenant_id, id)
);
-- Secondary indexes start with a column other than tenant_id (see 20261127000009).
CREATE INDEX case_attachments_case ON routing.case_attachments (case_id, tenant_id);
SELECT public.mashang_enable_tenant_rls('routing.case_attachments');
