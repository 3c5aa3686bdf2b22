-- The staff case list pages by keyset over (next deadline, id), so a township with
-- 100 000 cases pages as fast as one with 100. The next deadline is derived from the
-- row (first response until the call-back, then resolution, then follow-up; none once
-- closed), stored so it can be indexed; 'infinity' stands for none, so it sorts last.
ALTER TABLE routing.cases
    ADD COLUMN list_deadline timestamptz GENERATED ALWAYS AS (
        COALESCE(
            CASE
                WHEN responded_at IS NULL AND state NOT IN ('closed', 'invalid') THEN first_response_due
                WHEN state = 'resolved' THEN follow_up_due
                WHEN state IN ('closed', 'invalid', 'followed_up') THEN NULL
                ELSE resolution_due
            END,
            'infinity'::timestamptz)
    ) STORED;
-- Not led by tenant_id: on a new, unanalysed database the planner would take such an
-- index for the foreign-key checks on (tenant_id, id) (see migration 20261127000009).
CREATE INDEX cases_list_deadline ON routing.cases (list_deadline, id);
CREATE INDEX cases_assignee_deadline ON routing.cases (assignee_id, list_deadline, id);
CREATE INDEX cases_tracking_number ON routing.cases (tracking_number, tenant_id);
