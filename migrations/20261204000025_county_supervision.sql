-- The county's supervision (督办) in the browser: its deadline on a case is enforced
-- by timers (target 'county': a reminder before it, the overdue mark after it), and
-- every case a county person opens through the search is recorded with the reason.

-- When the county's reminder fired and when its deadline passed unmet, for the
-- county's list; both cleared when the county sets a new deadline.
ALTER TABLE routing.cases
    ADD COLUMN county_reminded_at timestamptz,
    ADD COLUMN county_overdue_at timestamptz;

-- The county's list of cases sent up: only those, not every case.
CREATE INDEX cases_county_requested ON routing.cases (county_requested_at, id)
    WHERE county_requested_at IS NOT NULL;
-- The county's case search, newest first within a bounded date range.
CREATE INDEX cases_submitted ON routing.cases (submitted_at, id);
-- A supervised case's notes, oldest first.
CREATE INDEX county_notes_case ON routing.county_notes (case_id, created_at);

-- 查阅记录: every time a county person opened a township's case (who, which case, when,
-- why). A row of the township whose case was read, under its row-level security, so
-- it leaves with the township's data and a township could be shown who read its cases;
-- the county reads it township by township as it reads cases.
CREATE TABLE routing.county_case_views (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL,
    case_id uuid NOT NULL,
    -- A county person (routing.county_users, global: no tenant).
    viewer_id uuid NOT NULL CONSTRAINT county_case_views_viewer_fkey
        REFERENCES routing.county_users (id),
    reason text NOT NULL CONSTRAINT county_case_views_reason_check
        CHECK (reason IN ('supervision', 'verification', 'complaint', 'other')),
    reason_text text CONSTRAINT county_case_views_reason_text_length
        CHECK (char_length(reason_text) BETWEEN 1 AND 200),
    viewed_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT county_case_views_case_fkey FOREIGN KEY (tenant_id, case_id)
        REFERENCES routing.cases (tenant_id, id),
    -- "Other" must say what.
    CONSTRAINT county_case_views_other_says_why
        CHECK (reason <> 'other' OR reason_text IS NOT NULL)
);
CREATE INDEX county_case_views_viewed ON routing.county_case_views (viewed_at, id);
CREATE INDEX county_case_views_case ON routing.county_case_views (case_id, viewed_at);
SELECT public.mashang_enable_tenant_rls('routing.county_case_views');
