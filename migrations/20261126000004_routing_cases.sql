-- Routing: cases, their timeline and their timers.

CREATE TABLE routing.cases (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL,
    report_id uuid NOT NULL,
    tracking_number text NOT NULL,
    grid_node_id uuid NOT NULL,
    category text NOT NULL,
    description text NOT NULL,
    state text NOT NULL,
    assignee_id uuid,
    assigned_node_id uuid,
    vacancy boolean NOT NULL DEFAULT false,
    version bigint NOT NULL DEFAULT 1,
    submitted_at timestamptz NOT NULL,
    first_response_due timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT cases_report_key UNIQUE (tenant_id, report_id),
    CONSTRAINT cases_tenant_id_key UNIQUE (tenant_id, id)
);
CREATE INDEX cases_assignee ON routing.cases (tenant_id, assignee_id, state);
SELECT public.mashang_enable_tenant_rls('routing.cases');

CREATE TABLE routing.case_timeline (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL,
    case_id uuid NOT NULL,
    action text NOT NULL,
    actor_id uuid,
    details jsonb NOT NULL DEFAULT '{}'::jsonb,
    occurred_at timestamptz NOT NULL,
    CONSTRAINT case_timeline_case_fkey FOREIGN KEY (tenant_id, case_id)
        REFERENCES routing.cases (tenant_id, id)
);
CREATE INDEX case_timeline_case ON routing.case_timeline (tenant_id, case_id, occurred_at);
SELECT public.mashang_enable_tenant_rls('routing.case_timeline');

-- A deadline or reminder point of a case. The scheduler polls due rows through the
-- partial index, so its cost follows the number due, not the number pending.
CREATE TABLE routing.timers (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL,
    case_id uuid NOT NULL,
    kind text NOT NULL,
    due_at timestamptz NOT NULL,
    fired_at timestamptz,
    CONSTRAINT timers_case_fkey FOREIGN KEY (tenant_id, case_id)
        REFERENCES routing.cases (tenant_id, id)
);
CREATE INDEX timers_due ON routing.timers (due_at) WHERE fired_at IS NULL;
CREATE INDEX timers_case ON routing.timers (tenant_id, case_id);
SELECT public.mashang_enable_tenant_rls('routing.timers');
