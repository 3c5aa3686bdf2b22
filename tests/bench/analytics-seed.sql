-- The analytics benchmark's county: `bench.facts` cases' facts (10 000 000 by default)
-- spread evenly over the townships whose code starts with `bench.prefix` (100, made
-- by `analytics-load` with their grids, grid workers and a QR code per grid), over the
-- year up to now, and the roll-ups the figures read, computed from those facts as the
-- projection computes them (services/analytics/src/projection/contribution.rs). Run as
-- the database owner (row-level security does not apply), after setting both:
--
--   SET bench.prefix = 'ban';  SET bench.facts = '10000000';
--
-- Run by `analytics-load` one `-- step:` at a time (timed), in one session.
--
-- Fact i (0 = oldest) was submitted at about i × (a year / facts), in township
-- i mod townships, grid (i / townships) mod its grids, category
-- (i / (townships × grids)) mod categories: each grid's cases rotate through them.
-- 90 % came through the grid's QR code, 10 % were assisted. 3 % were judged invalid.
-- Of the last 17 days about half are still open (and all of the newest hour) (acknowledged or in progress; those
-- older than the 15-day resolution deadline are overdue), the rest resolved; older
-- ones closed (85 %) or followed up. First responses come 2–52 minutes after
-- submission (30-minute deadline, so some late), resolutions an hour to 20 days after
-- (15-day deadline), mostly by the grid, some by the village or township. 40 % of
-- resolved cases were answered by the citizen. A few were returned, reopened or
-- escalated. Nothing in `analytics.events`: the figures never read it.

-- step: the townships, grids and categories
SELECT setseed(0.14);
-- The roll-ups group millions of rows: let them hash in memory.
SET work_mem = '256MB';

CREATE TEMP TABLE bench_townships AS
SELECT row_number() OVER (ORDER BY code) - 1 AS t, id AS tenant
  FROM routing.tenants WHERE code LIKE current_setting('bench.prefix') || '%';

CREATE TEMP TABLE bench_grids AS
SELECT b.t, row_number() OVER (PARTITION BY b.t ORDER BY n.code) - 1 AS k,
       n.id AS grid, n.parent_id AS village, r.user_id AS worker,
       (SELECT q.id FROM routing.qr_codes q
         WHERE q.tenant_id = n.tenant_id AND q.node_id = n.id ORDER BY q.id LIMIT 1) AS qr
  FROM bench_townships b
  JOIN routing.grid_nodes n ON n.tenant_id = b.tenant AND n.kind = 'grid'
  JOIN routing.staff_roles r ON r.tenant_id = n.tenant_id AND r.node_id = n.id AND r.role = 'grid_worker';
CREATE UNIQUE INDEX ON bench_grids (t, k);

-- Every township was created with the same categories.
CREATE TEMP TABLE bench_categories AS
SELECT row_number() OVER (ORDER BY position, code) - 1 AS k, code
  FROM routing.categories
 WHERE tenant_id = (SELECT tenant FROM bench_townships WHERE t = 0) AND active;

CREATE TEMP TABLE bench_shape AS
SELECT (SELECT count(*) FROM bench_townships) AS townships,
       (SELECT min(n) FROM (SELECT count(*) AS n FROM bench_grids GROUP BY t) g) AS grids,
       (SELECT count(*) FROM bench_categories) AS categories,
       current_setting('bench.facts')::bigint AS facts,
       date_trunc('minute', now()) AS until;

-- A time-ordered id (like UUIDv7): the indexes on ids are filled at their ends.
CREATE FUNCTION pg_temp.bench_id(at timestamptz, variant text, i bigint) RETURNS uuid
LANGUAGE sql IMMUTABLE AS $$
    SELECT (lpad(to_hex((extract(epoch FROM at) * 1000)::bigint), 12, '0') || '7000'
            || variant || lpad(to_hex(i), 15, '0'))::uuid
$$;

-- step: analytics.case_facts
INSERT INTO analytics.case_facts (
    tenant_id, report_id, case_id, tracking_number, qr_code_id, grid_node_id,
    village_node_id, category, channel, priority, status, submitted_at, submitted_day,
    first_response_due, first_responded_at, resolve_due, first_resolved_at, resolved_at,
    closed_at, handler_id, handler_level, resolved_level, returns, transfers, reopenings,
    escalations, pauses, invalid_status, answered_at, answer_resolved, answer_satisfaction,
    answer_source, case_version, updated_at)
SELECT tenant, pg_temp.bench_id(at, '8', i), pg_temp.bench_id(at, '9', i),
       'MS' || to_char(at AT TIME ZONE 'Asia/Shanghai', 'YYMMDD') || lpad(i::text, 9, '0'),
       CASE WHEN qr_channel THEN qr END, grid, village, category,
       CASE WHEN qr_channel THEN 'qr' ELSE 'assisted' END, 'normal',
       CASE WHEN invalid THEN 'invalid'
            WHEN open THEN CASE WHEN r3 < 0.5 THEN 'acknowledged' ELSE 'in_progress' END
            WHEN age < interval '17 days' THEN 'resolved'
            WHEN r3 < 0.85 THEN 'closed' ELSE 'followed_up' END,
       at, (at AT TIME ZONE 'Asia/Shanghai')::date,
       at + interval '30 minutes', responded, at + interval '15 days',
       resolved, resolved,
       CASE WHEN resolved IS NOT NULL AND age >= interval '17 days' THEN resolved + interval '3 days' END,
       worker, level, CASE WHEN resolved IS NOT NULL THEN level END,
       (r4 < 0.02)::int, (r4 BETWEEN 0.02 AND 0.03)::int, (r4 BETWEEN 0.03 AND 0.05)::int,
       (r4 BETWEEN 0.05 AND 0.08)::int, 0,
       CASE WHEN invalid THEN 'approved' WHEN r4 > 0.995 THEN 'rejected' ELSE 'none' END,
       CASE WHEN answered THEN least(resolved + interval '1 day', until) END,
       -- Answered when r5 < 0.4: r5 / 0.4 spreads the answers.
       CASE WHEN answered THEN r5 / 0.4 < 0.9 END,
       CASE WHEN NOT answered THEN NULL WHEN r5 / 0.4 < 0.7 THEN 'satisfied'
            WHEN r5 / 0.4 < 0.85 THEN 'basically_satisfied' ELSE 'unsatisfied' END,
       CASE WHEN answered THEN 'follow_up' END,
       6, least(now(), at + interval '1 day')
  FROM (
    SELECT f.*,
           -- Resolved (an hour to 20 days after, skewed early), unless open or invalid.
           CASE WHEN NOT open AND NOT invalid
                THEN least(at + interval '1 hour' + (r2 * r2 * r2) * interval '20 days', until) END
               AS resolved,
           NOT open AND NOT invalid AND r5 < 0.4 AND age > interval '2 days' AS answered
      FROM (
        SELECT l.*, s.until - l.age AS at, s.until,
               b.tenant, g.grid, g.village, g.worker, g.qr, c.code AS category,
               r1 < 0.9 AS qr_channel, r1 > 0.97 AS invalid,
               -- Half of the last 17 days still open, and all of the newest hour.
               r1 <= 0.97 AND (l.age < interval '1 hour'
                               OR (l.age < interval '17 days' AND r2 < 0.5)) AS open,
               -- The newest hour not yet answered.
               CASE WHEN l.age < interval '1 hour' THEN NULL
                    ELSE s.until - l.age + (2 + r3 * 50) * interval '1 minute' END AS responded,
               CASE WHEN r3 < 0.8 THEN 'grid' WHEN r3 < 0.93 THEN 'village' ELSE 'township' END AS level
          FROM (SELECT i, (s.facts - 1 - i) * (interval '365 days' / s.facts) AS age,
                       random() AS r1, random() AS r2, random() AS r3, random() AS r4,
                       random() AS r5
                  FROM bench_shape s, generate_series(0, s.facts - 1) AS i) l
          CROSS JOIN bench_shape s
          JOIN bench_townships b ON b.t = l.i % s.townships
          JOIN bench_grids g ON g.t = b.t AND g.k = (l.i / s.townships) % s.grids
          JOIN bench_categories c ON c.k = (l.i / (s.townships * s.grids)) % s.categories
      ) f
  ) x;

-- step: analytics.daily_rollups
-- What each fact adds, as contribution() computes it.
CREATE TEMP VIEW bench_contributions AS
SELECT f.*,
       (valid AND first_responded_at IS NOT NULL) AS responded,
       (valid AND status IN ('resolved', 'followed_up', 'closed') AND resolved_at IS NOT NULL) AS resolved_now,
       (resolve_due IS NULL OR resolved_at <= resolve_due) AS on_time,
       (valid AND answered_at IS NOT NULL) AS answer
  FROM (SELECT c.*, invalid_status <> 'approved' AS valid FROM analytics.case_facts c
         WHERE tenant_id IN (SELECT tenant FROM bench_townships)) f;

CREATE FUNCTION pg_temp.bench_bucket(from_at timestamptz, to_at timestamptz) RETURNS smallint
LANGUAGE sql IMMUTABLE AS $$
    SELECT (CASE WHEN m <= 120 THEN m
                 WHEN m <= 2880 THEN 120 + (m - 120 + 14) / 15
                 WHEN m <= 86400 THEN 304 + (m - 2880 + 359) / 360
                 ELSE 537 END)::smallint
      FROM (SELECT (greatest(trunc(extract(epoch FROM to_at - from_at) * 1000)::bigint, 0) + 59999) / 60000 AS m) x
$$;

INSERT INTO analytics.daily_rollups
SELECT tenant_id, submitted_day,
       coalesce(grid_node_id, '00000000-0000-0000-0000-000000000000'),
       coalesce(village_node_id, '00000000-0000-0000-0000-000000000000'),
       category,
       coalesce(handler_id, '00000000-0000-0000-0000-000000000000'),
       count(*),
       count(*) FILTER (WHERE channel = 'qr'),
       count(*) FILTER (WHERE NOT valid),
       count(*) FILTER (WHERE returns > 0),
       count(*) FILTER (WHERE valid),
       count(*) FILTER (WHERE responded),
       count(*) FILTER (WHERE responded AND (first_response_due IS NULL OR first_responded_at <= first_response_due)),
       count(*) FILTER (WHERE resolved_now),
       count(*) FILTER (WHERE resolved_now AND on_time),
       count(*) FILTER (WHERE resolved_now AND NOT on_time),
       count(*) FILTER (WHERE resolved_now AND resolved_level IN ('grid', 'village')),
       count(*) FILTER (WHERE valid AND first_resolved_at IS NOT NULL),
       count(*) FILTER (WHERE answer),
       count(*) FILTER (WHERE answer AND answer_resolved),
       count(*) FILTER (WHERE answer AND answer_satisfaction IN ('satisfied', 'basically_satisfied')),
       count(*) FILTER (WHERE valid AND reopenings > 0),
       count(*) FILTER (WHERE valid AND escalations > 0)
  FROM bench_contributions
 GROUP BY 1, 2, 3, 4, 5, 6;

-- step: analytics.daily_totals
INSERT INTO analytics.daily_totals
SELECT tenant_id, day, category, sum(reports), sum(qr_reports), sum(invalid), sum(returned),
       sum(valid), sum(responded), sum(responded_on_time), sum(resolved), sum(resolved_on_time),
       sum(resolved_late), sum(resolved_low), sum(resolved_ever), sum(answered),
       sum(answered_resolved), sum(answered_satisfied), sum(reopened), sum(escalated)
  FROM analytics.daily_rollups
 WHERE tenant_id IN (SELECT tenant FROM bench_townships)
 GROUP BY 1, 2, 3;

-- step: analytics.daily_durations
INSERT INTO analytics.daily_durations
SELECT tenant_id, submitted_day,
       coalesce(grid_node_id, '00000000-0000-0000-0000-000000000000'),
       coalesce(village_node_id, '00000000-0000-0000-0000-000000000000'),
       category,
       coalesce(handler_id, '00000000-0000-0000-0000-000000000000'),
       d.measure, d.bucket, count(*)
  FROM bench_contributions,
       LATERAL (SELECT 1::smallint AS measure, pg_temp.bench_bucket(submitted_at, first_responded_at) AS bucket
                 WHERE responded
                UNION ALL
                SELECT 2::smallint, pg_temp.bench_bucket(submitted_at, resolved_at)
                 WHERE resolved_now) d
 GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;

-- step: analytics.daily_total_durations
INSERT INTO analytics.daily_total_durations
SELECT tenant_id, day, measure, bucket, sum(cases)
  FROM analytics.daily_durations
 WHERE tenant_id IN (SELECT tenant FROM bench_townships)
 GROUP BY 1, 2, 3, 4;

-- step: analytics.qr_daily
-- Reports through each code per day, and about four scans a report.
INSERT INTO analytics.qr_daily
SELECT tenant_id, qr_code_id, submitted_day,
       coalesce(grid_node_id, '00000000-0000-0000-0000-000000000000'),
       count(*) * 4, count(*)
  FROM analytics.case_facts
 WHERE tenant_id IN (SELECT tenant FROM bench_townships) AND qr_code_id IS NOT NULL
 GROUP BY 1, 2, 3, 4;

-- step: VACUUM (ANALYZE)
-- As autovacuum would have done on tables this old: statistics, and the visibility
-- map that lets the figures' index-only scans skip the table.
VACUUM (ANALYZE) analytics.case_facts, analytics.daily_rollups, analytics.daily_totals,
    analytics.daily_durations, analytics.daily_total_durations, analytics.qr_daily;
