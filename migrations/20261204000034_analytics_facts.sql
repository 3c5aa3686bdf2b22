-- Analytics: the events it received (kept, so that the facts can be rebuilt), one row
-- of facts per report and its case, daily roll-ups that the figures read, the
-- duration histograms for medians and p90, QR scans and reports per code per day,
-- and the record of the county's reads. See docs/metrics.md.

-- Every event analytics received, as received. The facts and roll-ups are a function
-- of these rows (`mashang analytics rebuild`).
CREATE TABLE analytics.events (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL,
    event_type text NOT NULL,
    -- The report a case event is about (every case and report event names it).
    report_id uuid,
    occurred_at timestamptz NOT NULL,
    envelope jsonb NOT NULL,
    received_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX events_report ON analytics.events (tenant_id, report_id) WHERE report_id IS NOT NULL;
CREATE INDEX events_tenant_time ON analytics.events (tenant_id, occurred_at, id);
SELECT public.mashang_enable_tenant_rls('analytics.events');

-- One row per report (and the case routing opened for it): what the figures count.
-- Times are UTC; `submitted_day` is the township's local day of submission, the day
-- by which every figure is attributed.
CREATE TABLE analytics.case_facts (
    tenant_id uuid NOT NULL,
    report_id uuid NOT NULL,
    case_id uuid,
    tracking_number text NOT NULL,
    qr_code_id uuid,
    grid_node_id uuid,
    village_node_id uuid,
    category text NOT NULL,
    channel text NOT NULL,
    priority text NOT NULL DEFAULT 'normal',
    status text NOT NULL,
    submitted_at timestamptz NOT NULL,
    submitted_day date NOT NULL,
    first_response_due timestamptz,
    first_responded_at timestamptz,
    resolve_due timestamptz,
    first_resolved_at timestamptz,
    resolved_at timestamptz,
    closed_at timestamptz,
    handler_id uuid,
    handler_level text CONSTRAINT case_facts_handler_level_check
        CHECK (handler_level IN ('grid', 'village', 'township', 'county')),
    resolved_level text CONSTRAINT case_facts_resolved_level_check
        CHECK (resolved_level IN ('grid', 'village', 'township', 'county')),
    returns integer NOT NULL DEFAULT 0,
    transfers integer NOT NULL DEFAULT 0,
    reopenings integer NOT NULL DEFAULT 0,
    escalations integer NOT NULL DEFAULT 0,
    pauses integer NOT NULL DEFAULT 0,
    invalid_status text NOT NULL DEFAULT 'none' CONSTRAINT case_facts_invalid_status_check
        CHECK (invalid_status IN ('none', 'requested', 'approved', 'rejected')),
    answered_at timestamptz,
    answer_resolved boolean,
    answer_satisfaction text CONSTRAINT case_facts_answer_satisfaction_check
        CHECK (answer_satisfaction IN ('satisfied', 'basically_satisfied', 'unsatisfied')),
    answer_source text CONSTRAINT case_facts_answer_source_check
        CHECK (answer_source IN ('citizen', 'follow_up')),
    case_version bigint NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (tenant_id, report_id)
);
-- Drill-downs and exports: a township's cases of a period.
CREATE INDEX case_facts_day ON analytics.case_facts (tenant_id, submitted_day, report_id);
-- The county's drill-down and export across townships.
CREATE INDEX case_facts_county_day ON analytics.case_facts (submitted_day, tenant_id);
-- The only figures that depend on the clock: open cases whose deadline passed. Open
-- cases are few, so these stay small.
CREATE INDEX case_facts_open ON analytics.case_facts (tenant_id, submitted_day)
    INCLUDE (first_response_due, resolve_due, first_responded_at, grid_node_id, village_node_id, handler_id, category)
    WHERE status NOT IN ('resolved', 'followed_up', 'closed', 'invalid');
CREATE INDEX case_facts_open_county ON analytics.case_facts (submitted_day)
    INCLUDE (tenant_id, first_response_due, resolve_due, first_responded_at)
    WHERE status NOT IN ('resolved', 'followed_up', 'closed', 'invalid');
CREATE INDEX case_facts_case ON analytics.case_facts (case_id);
SELECT public.mashang_enable_tenant_rls('analytics.case_facts');

-- Sums of the facts per township × local day of submission × grid × village ×
-- category × handler (the nil uuid where a case has none). Each fact adds to exactly
-- one row; a changed fact moves its contribution. The columns are documented in
-- docs/metrics.md.
CREATE TABLE analytics.daily_rollups (
    tenant_id uuid NOT NULL,
    day date NOT NULL,
    grid_node_id uuid NOT NULL,
    village_node_id uuid NOT NULL,
    category text NOT NULL,
    handler_id uuid NOT NULL,
    reports bigint NOT NULL DEFAULT 0,
    qr_reports bigint NOT NULL DEFAULT 0,
    invalid bigint NOT NULL DEFAULT 0,
    returned bigint NOT NULL DEFAULT 0,
    valid bigint NOT NULL DEFAULT 0,
    responded bigint NOT NULL DEFAULT 0,
    responded_on_time bigint NOT NULL DEFAULT 0,
    resolved bigint NOT NULL DEFAULT 0,
    resolved_on_time bigint NOT NULL DEFAULT 0,
    resolved_late bigint NOT NULL DEFAULT 0,
    resolved_low bigint NOT NULL DEFAULT 0,
    resolved_ever bigint NOT NULL DEFAULT 0,
    answered bigint NOT NULL DEFAULT 0,
    answered_resolved bigint NOT NULL DEFAULT 0,
    answered_satisfied bigint NOT NULL DEFAULT 0,
    reopened bigint NOT NULL DEFAULT 0,
    escalated bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, day, grid_node_id, village_node_id, category, handler_id)
);
CREATE INDEX daily_rollups_county_day ON analytics.daily_rollups (day);
SELECT public.mashang_enable_tenant_rls('analytics.daily_rollups');

-- Histograms of the time to first response (measure 1) and to resolution (measure
-- 2) in the same buckets of dimensions, for medians and p90 without scanning cases.
-- `bucket` indexes the bounds in services/analytics (exact minutes below two hours).
CREATE TABLE analytics.daily_durations (
    tenant_id uuid NOT NULL,
    day date NOT NULL,
    grid_node_id uuid NOT NULL,
    village_node_id uuid NOT NULL,
    category text NOT NULL,
    handler_id uuid NOT NULL,
    measure smallint NOT NULL CONSTRAINT daily_durations_measure_check CHECK (measure IN (1, 2)),
    bucket smallint NOT NULL,
    cases bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, day, grid_node_id, village_node_id, category, handler_id, measure, bucket)
);
CREATE INDEX daily_durations_county_day ON analytics.daily_durations (day);
SELECT public.mashang_enable_tenant_rls('analytics.daily_durations');

-- The same counters per township × day × category only: the headline figures and the
-- county's side-by-side read these few rows, not the per-grid ones.
CREATE TABLE analytics.daily_totals (
    tenant_id uuid NOT NULL,
    day date NOT NULL,
    category text NOT NULL,
    reports bigint NOT NULL DEFAULT 0,
    qr_reports bigint NOT NULL DEFAULT 0,
    invalid bigint NOT NULL DEFAULT 0,
    returned bigint NOT NULL DEFAULT 0,
    valid bigint NOT NULL DEFAULT 0,
    responded bigint NOT NULL DEFAULT 0,
    responded_on_time bigint NOT NULL DEFAULT 0,
    resolved bigint NOT NULL DEFAULT 0,
    resolved_on_time bigint NOT NULL DEFAULT 0,
    resolved_late bigint NOT NULL DEFAULT 0,
    resolved_low bigint NOT NULL DEFAULT 0,
    resolved_ever bigint NOT NULL DEFAULT 0,
    answered bigint NOT NULL DEFAULT 0,
    answered_resolved bigint NOT NULL DEFAULT 0,
    answered_satisfied bigint NOT NULL DEFAULT 0,
    reopened bigint NOT NULL DEFAULT 0,
    escalated bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, day, category)
);
CREATE INDEX daily_totals_county_day ON analytics.daily_totals (day);
SELECT public.mashang_enable_tenant_rls('analytics.daily_totals');

CREATE TABLE analytics.daily_total_durations (
    tenant_id uuid NOT NULL,
    day date NOT NULL,
    category text NOT NULL,
    measure smallint NOT NULL CONSTRAINT daily_total_durations_measure_check CHECK (measure IN (1, 2)),
    bucket smallint NOT NULL,
    cases bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, day, category, measure, bucket)
);
CREATE INDEX daily_total_durations_county_day ON analytics.daily_total_durations (day);
SELECT public.mashang_enable_tenant_rls('analytics.daily_total_durations');

-- QR posters: scans (from `qr.scanned`) and reports made through each code, per local day.
CREATE TABLE analytics.qr_daily (
    tenant_id uuid NOT NULL,
    qr_code_id uuid NOT NULL,
    day date NOT NULL,
    grid_node_id uuid NOT NULL,
    scans bigint NOT NULL DEFAULT 0,
    reports bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, day, qr_code_id)
);
CREATE INDEX qr_daily_county_day ON analytics.qr_daily (day);
SELECT public.mashang_enable_tenant_rls('analytics.qr_daily');

-- The county reads every township's figures side by side, nothing else.
CREATE POLICY county_read ON analytics.case_facts FOR SELECT
    USING (current_setting('app.county_read', true) = 'on');
CREATE POLICY county_read ON analytics.daily_rollups FOR SELECT
    USING (current_setting('app.county_read', true) = 'on');
CREATE POLICY county_read ON analytics.daily_durations FOR SELECT
    USING (current_setting('app.county_read', true) = 'on');
CREATE POLICY county_read ON analytics.qr_daily FOR SELECT
    USING (current_setting('app.county_read', true) = 'on');
CREATE POLICY county_read ON analytics.daily_totals FOR SELECT
    USING (current_setting('app.county_read', true) = 'on');
CREATE POLICY county_read ON analytics.daily_total_durations FOR SELECT
    USING (current_setting('app.county_read', true) = 'on');

-- 查阅记录 of the county's figures: every county read of analytics (who, what, when).
-- Global, like the county's people: the county's reads belong to no township.
CREATE TABLE analytics.county_reads (
    id uuid PRIMARY KEY,
    viewer_id uuid NOT NULL,
    path text NOT NULL CONSTRAINT county_reads_path_length CHECK (char_length(path) <= 100),
    query text NOT NULL CONSTRAINT county_reads_query_length CHECK (char_length(query) <= 1000),
    read_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX county_reads_read ON analytics.county_reads (read_at);
