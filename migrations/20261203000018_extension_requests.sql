-- Extension requests (申请延期): a handler asks for a later resolution deadline with a
-- reason; the township centre approves or rejects it with a note. Kept beside the
-- case rather than as a workflow action, so the case's state and version (and the
-- replay of its timeline) are untouched; the timeline gets a plain entry for each
-- step, like a re-applied policy. At most one request per case is pending.
CREATE TABLE routing.extension_requests (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES routing.tenants (id),
    case_id uuid NOT NULL,
    requested_by uuid NOT NULL,
    reason text NOT NULL
        CONSTRAINT extension_requests_reason_length CHECK (char_length(reason) BETWEEN 1 AND 500),
    -- The resolution deadline asked for, and the one in force when asked.
    requested_until timestamptz NOT NULL,
    previous_due timestamptz,
    status text NOT NULL DEFAULT 'pending'
        CONSTRAINT extension_requests_status_check CHECK (status IN ('pending', 'approved', 'rejected')),
    decided_by uuid,
    decision_note text
        CONSTRAINT extension_requests_note_length CHECK (char_length(decision_note) <= 500),
    decided_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT extension_requests_case_fkey FOREIGN KEY (tenant_id, case_id)
        REFERENCES routing.cases (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT extension_requests_requester_fkey FOREIGN KEY (tenant_id, requested_by)
        REFERENCES routing.staff_users (tenant_id, id),
    CONSTRAINT extension_requests_decider_fkey FOREIGN KEY (tenant_id, decided_by)
        REFERENCES routing.staff_users (tenant_id, id),
    CONSTRAINT extension_requests_decided CHECK ((status = 'pending') = (decided_at IS NULL))
);
-- Secondary indexes start with a column other than tenant_id (see 20261127000009).
CREATE INDEX extension_requests_case ON routing.extension_requests (case_id, tenant_id);
CREATE UNIQUE INDEX extension_requests_one_pending ON routing.extension_requests (case_id)
    WHERE status = 'pending';
CREATE INDEX extension_requests_pending ON routing.extension_requests (created_at)
    WHERE status = 'pending';
CREATE INDEX extension_requests_requester ON routing.extension_requests (requested_by, tenant_id);
CREATE INDEX extension_requests_decider ON routing.extension_requests (decided_by, tenant_id)
    WHERE decided_by IS NOT NULL;
SELECT public.mashang_enable_tenant_rls('routing.extension_requests');
