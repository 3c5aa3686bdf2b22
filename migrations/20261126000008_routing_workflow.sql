-- Routing's workflow: SLA policies, working calendars, assignment rules, duty and
-- leave, the full case record (deadlines, pauses, escalations, supervisors), timers
-- the scheduler polls across tenants, vacancies and one-time alerts.

ALTER TABLE routing.categories
    -- Per category: inherit the township's choice, or always assign / always triage.
    ADD COLUMN triage text NOT NULL DEFAULT 'inherit'
        CONSTRAINT categories_triage_check CHECK (triage IN ('inherit', 'auto', 'triage')),
    ADD COLUMN default_priority text NOT NULL DEFAULT 'normal'
        CONSTRAINT categories_priority_check CHECK (default_priority IN ('normal', 'urgent'));

CREATE TABLE routing.tenant_settings (
    tenant_id uuid PRIMARY KEY REFERENCES routing.tenants (id),
    -- auto: new cases are assigned at once; triage: they wait in the township centre's
    -- queue (受理审核) until a person dispatches them. The clock runs either way.
    triage_mode text NOT NULL DEFAULT 'auto'
        CONSTRAINT tenant_settings_triage_check CHECK (triage_mode IN ('auto', 'triage')),
    -- On a breach: add the next level as supervisor (false) or reassign to it (true).
    reassign_on_breach boolean NOT NULL DEFAULT false,
    updated_at timestamptz NOT NULL DEFAULT now()
);
SELECT public.mashang_enable_tenant_rls('routing.tenant_settings');

-- SLA policies by category ('*' for any) and priority; the policy is the domain's
-- serialised SlaPolicy. A case keeps a snapshot of the one in force when it was made.
CREATE TABLE routing.sla_policies (
    tenant_id uuid NOT NULL REFERENCES routing.tenants (id),
    category text NOT NULL DEFAULT '*',
    priority text NOT NULL CONSTRAINT sla_policies_priority_check CHECK (priority IN ('normal', 'urgent')),
    policy jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, category, priority)
);
SELECT public.mashang_enable_tenant_rls('routing.sla_policies');

-- The working calendar: zone, weekly hours (domain WeeklyHours), published years.
CREATE TABLE routing.calendars (
    tenant_id uuid PRIMARY KEY REFERENCES routing.tenants (id),
    weekly jsonb NOT NULL,
    published_years integer[] NOT NULL DEFAULT '{}',
    updated_at timestamptz NOT NULL DEFAULT now()
);
SELECT public.mashang_enable_tenant_rls('routing.calendars');

CREATE TABLE routing.calendar_overrides (
    tenant_id uuid NOT NULL REFERENCES routing.tenants (id),
    day date NOT NULL,
    name text NOT NULL DEFAULT '',
    kind text NOT NULL CONSTRAINT calendar_overrides_kind_check CHECK (kind IN ('off', 'working')),
    -- For a working day: its hours ("08:30-12:00,14:30-18:00"); NULL = the standard day.
    hours text,
    PRIMARY KEY (tenant_id, day)
);
SELECT public.mashang_enable_tenant_rls('routing.calendar_overrides');

-- Ordered assignment rules: category (NULL = any) and grid subtree (NULL = anywhere)
-- → target node (NULL = the report's own grid) and role.
CREATE TABLE routing.assignment_rules (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES routing.tenants (id),
    position integer NOT NULL DEFAULT 0,
    category text,
    within_node uuid,
    target_node uuid,
    target_role text NOT NULL CONSTRAINT assignment_rules_role_check
        CHECK (target_role IN ('grid_worker', 'grid_leader', 'village_head', 'township_centre')),
    active boolean NOT NULL DEFAULT true,
    CONSTRAINT assignment_rules_within_fkey FOREIGN KEY (tenant_id, within_node) REFERENCES routing.grid_nodes (tenant_id, id),
    CONSTRAINT assignment_rules_target_fkey FOREIGN KEY (tenant_id, target_node) REFERENCES routing.grid_nodes (tenant_id, id)
);
CREATE INDEX assignment_rules_order ON routing.assignment_rules (tenant_id, position);
SELECT public.mashang_enable_tenant_rls('routing.assignment_rules');

ALTER TABLE routing.staff_users
    ADD COLUMN on_duty boolean NOT NULL DEFAULT true,
    ADD COLUMN leave_from timestamptz,
    ADD COLUMN leave_until timestamptz,
    ADD COLUMN substitute_id uuid,
    ADD COLUMN last_assigned_at timestamptz;

ALTER TABLE routing.cases
    ADD COLUMN priority text NOT NULL DEFAULT 'normal'
        CONSTRAINT cases_priority_check CHECK (priority IN ('normal', 'urgent')),
    ADD COLUMN sla jsonb,
    ADD COLUMN resolution_due timestamptz,
    ADD COLUMN follow_up_due timestamptz,
    ADD COLUMN deadlines_provisional boolean NOT NULL DEFAULT false,
    -- The domain's facts and clocks, kept whole so the rules see exactly what they need.
    ADD COLUMN facts jsonb,
    ADD COLUMN clocks jsonb NOT NULL DEFAULT '{}'::jsonb,
    ADD COLUMN escalations jsonb NOT NULL DEFAULT '{}'::jsonb,
    ADD COLUMN responded_at timestamptz,
    ADD COLUMN resolved_at timestamptz,
    ADD COLUMN closed_at timestamptz,
    ADD COLUMN reopen_count integer NOT NULL DEFAULT 0,
    ADD COLUMN in_triage boolean NOT NULL DEFAULT false,
    ADD COLUMN county_requested_at timestamptz,
    ADD COLUMN county_deadline timestamptz;
ALTER TABLE routing.cases ALTER COLUMN first_response_due DROP NOT NULL;
CREATE INDEX cases_state ON routing.cases (tenant_id, state);
CREATE INDEX cases_node ON routing.cases (tenant_id, grid_node_id);

ALTER TABLE routing.timers
    ADD COLUMN target text,
    ADD COLUMN point text,
    ADD COLUMN provisional boolean NOT NULL DEFAULT false,
    ADD COLUMN case_version bigint NOT NULL DEFAULT 0,
    -- A scheduler takes due timers for a short lease; the firing itself marks the timer
    -- fired in the tenant's transaction with its effect, so it happens exactly once.
    ADD COLUMN lease_until timestamptz;
CREATE UNIQUE INDEX timers_pending_point ON routing.timers (case_id, target, point) WHERE fired_at IS NULL;
-- Every routing replica's scheduler takes due timers of every tenant; it acts on each
-- in that tenant's own transaction.
CREATE POLICY timers_scheduler ON routing.timers
    USING (current_setting('app.timer_scheduler', true) = 'on');

-- People added to a case as supervisors (escalation, 督办).
CREATE TABLE routing.case_supervisors (
    tenant_id uuid NOT NULL,
    case_id uuid NOT NULL,
    user_id uuid NOT NULL,
    level text NOT NULL,
    added_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (case_id, user_id),
    CONSTRAINT case_supervisors_case_fkey FOREIGN KEY (tenant_id, case_id) REFERENCES routing.cases (tenant_id, id)
);
SELECT public.mashang_enable_tenant_rls('routing.case_supervisors');

-- A case whose own grid had nobody eligible, so a higher level took it.
CREATE TABLE routing.vacancies (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL,
    case_id uuid NOT NULL,
    node_id uuid NOT NULL,
    role text NOT NULL,
    taken_by_node uuid,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX vacancies_node ON routing.vacancies (tenant_id, node_id, created_at);
SELECT public.mashang_enable_tenant_rls('routing.vacancies');

-- Alerts raised once per tenant and key (e.g. a deadline reaching an unpublished year).
CREATE TABLE routing.tenant_alerts (
    tenant_id uuid NOT NULL,
    kind text NOT NULL,
    key text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, kind, key)
);
SELECT public.mashang_enable_tenant_rls('routing.tenant_alerts');

-- The county's supervision of a case a township centre sent up (督办).
CREATE TABLE routing.county_notes (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL,
    case_id uuid NOT NULL,
    author_id uuid NOT NULL,
    body text NOT NULL CONSTRAINT county_notes_body_length CHECK (char_length(body) BETWEEN 1 AND 2000),
    deadline timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
SELECT public.mashang_enable_tenant_rls('routing.county_notes');
