-- The console benchmark's township: `bench.cases` cases (100 000 by default) over the
-- grids and grid workers that `console-load` created in township `bench.tenant`, as
-- a year of work leaves them. Run as the database owner (row-level security does not
-- apply), after setting both:
--
--   SET bench.tenant = '…';  SET bench.cases = '100000';
--
-- Case i (1 = newest) was submitted about i × 5 minutes ago, so 100 000 cases span
-- about a year. The newest 40 have no first response yet (some past their 30-minute
-- first-response deadline); cases of the last ~17 days (i ≤ 5 000) are in every
-- state, about 60 % still open; older ones are closed (93 %), invalid or followed up.
-- Open cases past their 15-day resolution deadline and resolved cases past their
-- follow-up deadline are the overdue ones (several hundred). Every case has its intake
-- report, a timeline of the steps its state implies, and the fired timers of the
-- deadlines it passed through; no timer is left pending, so the scheduler changes
-- nothing while the benchmark runs. Deterministic: the same seed each run.

SELECT setseed(0.11);

CREATE TEMP TABLE bench_grids AS
SELECT row_number() OVER (ORDER BY n.code) - 1 AS k, n.id AS grid, r.user_id AS worker,
       p.id AS village, l.user_id AS leader
  FROM routing.grid_nodes n
  JOIN routing.staff_roles r ON r.tenant_id = n.tenant_id AND r.node_id = n.id AND r.role = 'grid_worker'
  JOIN routing.grid_nodes p ON p.tenant_id = n.tenant_id AND p.id = n.parent_id
  LEFT JOIN routing.staff_roles l ON l.tenant_id = n.tenant_id AND l.node_id = p.id AND l.role = 'grid_leader'
 WHERE n.tenant_id = current_setting('bench.tenant')::uuid AND n.kind = 'grid';

CREATE TEMP TABLE bench_categories AS
SELECT row_number() OVER (ORDER BY position, code) - 1 AS k, code
  FROM routing.categories WHERE tenant_id = current_setting('bench.tenant')::uuid AND active;

-- The deadlines' policy of a real case (the one `console-load` reported through the
-- API), so every seeded case carries the same `sla` as one the workflow made.
CREATE TEMP TABLE bench_template AS
SELECT sla FROM routing.cases WHERE tenant_id = current_setting('bench.tenant')::uuid LIMIT 1;

CREATE TEMP TABLE bench_cases AS
WITH base AS (
    SELECT i,
           gen_random_uuid() AS id,
           gen_random_uuid() AS report_id,
           now() - make_interval(mins => i * 5) - make_interval(secs => (random() * 200)::int) AS submitted_at,
           random() AS r,
           (random() * 1000)::int AS pick
      FROM generate_series(1, current_setting('bench.cases')::int) AS i
)
SELECT b.*, g.grid, g.worker, g.village, g.leader, c.code AS category,
       CASE
           WHEN i <= 40 THEN CASE WHEN r < 0.2 THEN 'created' ELSE 'assigned' END
           WHEN i <= 5000 THEN CASE
               WHEN r < 0.35 THEN 'closed'
               WHEN r < 0.40 THEN 'invalid'
               WHEN r < 0.43 THEN 'followed_up'
               WHEN r < 0.53 THEN 'acknowledged'
               WHEN r < 0.78 THEN 'in_progress'
               WHEN r < 0.83 THEN 'waiting_on_citizen'
               WHEN r < 0.93 THEN 'resolved'
               WHEN r < 0.96 THEN 'reopened'
               WHEN r < 0.98 THEN 'escalated'
               ELSE 'invalid_requested'
           END
           ELSE CASE WHEN r < 0.93 THEN 'closed' WHEN r < 0.98 THEN 'invalid' ELSE 'followed_up' END
       END AS state
  FROM base b
  JOIN bench_grids g ON g.k = b.pick % (SELECT count(*) FROM bench_grids)
  JOIN bench_categories c ON c.k = (b.pick / 7) % (SELECT count(*) FROM bench_categories);

ALTER TABLE bench_cases
    ADD COLUMN tracking_number text, ADD COLUMN responded_at timestamptz,
    ADD COLUMN resolved_at timestamptz, ADD COLUMN closed_at timestamptz,
    ADD COLUMN updated_at timestamptz;
-- Ids as the services make them (UUIDv7: the time first, so newer ids sort later).
UPDATE bench_cases SET
    id = encode(set_byte(overlay(uuid_send(id) PLACING substring(int8send((extract(epoch FROM submitted_at) * 1000)::bigint) FROM 3)
                                 FROM 1 FOR 6), 6, (get_byte(uuid_send(id), 6) & 15) | 112), 'hex')::uuid,
    tracking_number = upper((SELECT code FROM routing.tenants WHERE id = current_setting('bench.tenant')::uuid))
        || '-' || to_char(submitted_at AT TIME ZONE 'Asia/Shanghai', 'YYYYMMDD') || '-' || lpad(i::text, 6, '0'),
    responded_at = CASE WHEN state IN ('created', 'assigned') THEN NULL
                        ELSE submitted_at + make_interval(mins => 8 + (r * 20)::int) END,
    resolved_at = CASE
        WHEN state = 'resolved' THEN greatest(submitted_at + interval '1 hour', now() - make_interval(hours => (r * 1000)::int % 96))
        WHEN state IN ('closed', 'followed_up') THEN submitted_at + make_interval(hours => 4 + (r * 1000)::int % 150)
    END;
UPDATE bench_cases SET
    closed_at = CASE WHEN state = 'closed' THEN resolved_at + interval '2 days'
                     WHEN state = 'invalid' THEN submitted_at + interval '1 day' END,
    updated_at = coalesce(resolved_at, responded_at, submitted_at);
UPDATE bench_cases SET updated_at = closed_at WHERE closed_at IS NOT NULL;

INSERT INTO intake.reports (id, tenant_id, tracking_number, status_secret_hash, qr_code_id, grid_node_id,
                            category, description, contact_name, contact_phone_last4, lat, lng, channel,
                            status, case_id, case_version, submitted_at, updated_at)
SELECT report_id, current_setting('bench.tenant')::uuid, tracking_number, sha256(report_id::text::bytea), NULL, grid,
       category, '村口第' || (i % 97) || '号路灯不亮，晚上行人看不清路，请尽快派人修理。', NULL, NULL,
       34.2 + (pick % 100) / 1000.0, 108.9 + (pick % 77) / 1000.0, CASE WHEN i % 20 = 0 THEN 'assisted' ELSE 'qr' END,
       CASE WHEN state IN ('closed', 'invalid', 'followed_up') THEN 'closed' ELSE 'in_progress' END,
       id, 1, submitted_at, updated_at
  FROM bench_cases;

INSERT INTO routing.cases (id, tenant_id, report_id, tracking_number, grid_node_id, category, description, state,
                           assignee_id, assigned_node_id, vacancy, version, submitted_at, first_response_due,
                           created_at, updated_at, priority, sla, resolution_due, follow_up_due,
                           deadlines_provisional, responded_at, resolved_at, closed_at, reopen_count, in_triage,
                           lat, lng, attachments, channel, flags)
SELECT id, current_setting('bench.tenant')::uuid, report_id, tracking_number, grid, category,
       '村口第' || (i % 97) || '号路灯不亮，晚上行人看不清路，请尽快派人修理。', state,
       CASE WHEN state IN ('created', 'invalid_requested') AND i <= 40 THEN NULL
            WHEN state = 'escalated' THEN leader ELSE worker END,
       CASE WHEN state = 'created' THEN NULL WHEN state = 'escalated' THEN village ELSE grid END,
       false, 3, submitted_at, submitted_at + interval '30 minutes',
       submitted_at, updated_at, CASE WHEN pick % 25 = 0 THEN 'urgent' ELSE 'normal' END,
       (SELECT sla FROM bench_template), submitted_at + interval '15 days',
       CASE WHEN resolved_at IS NOT NULL THEN resolved_at + interval '3 days' END,
       false, responded_at, resolved_at, closed_at, CASE WHEN state = 'reopened' THEN 1 ELSE 0 END,
       state = 'created', 34.2 + (pick % 100) / 1000.0, 108.9 + (pick % 77) / 1000.0, '[]'::jsonb,
       CASE WHEN i % 20 = 0 THEN 'assisted' ELSE 'qr' END, '{}'
  FROM bench_cases;

-- The timeline: the steps each state implies, in the shape the workflow writes.
INSERT INTO routing.case_timeline (id, tenant_id, case_id, action, actor_id, details, occurred_at)
SELECT gen_random_uuid(), current_setting('bench.tenant')::uuid, c.id, s.action,
       CASE WHEN s.action IN ('created', 'assign') THEN NULL ELSE c.worker END,
       jsonb_build_object('from', s.from_state, 'to', s.to_state, 'version', s.n,
           'actor', CASE WHEN s.action IN ('created', 'assign') THEN jsonb_build_object('kind', 'system')
                         ELSE jsonb_build_object('kind', 'staff', 'user_id', c.worker, 'roles', jsonb_build_array('grid_worker')) END,
           'details', s.details),
       s.at
  FROM bench_cases c
 CROSS JOIN LATERAL (VALUES
    (1, 'created', 'created', 'created', '{}'::jsonb, c.submitted_at, true),
    (2, 'assign', 'created', 'assigned', jsonb_build_object('to', c.worker, 'node', c.grid),
        c.submitted_at + interval '1 second', c.state <> 'created'),
    (3, 'acknowledge', 'assigned', 'acknowledged',
        jsonb_build_object('contacted_at', c.responded_at, 'method', 'phone', 'summary', '已与群众电话联系，约定明天上午到现场查看。'),
        c.responded_at, c.responded_at IS NOT NULL),
    (4, 'start', 'acknowledged', 'in_progress', '{}'::jsonb, c.responded_at + interval '2 hours',
        c.responded_at IS NOT NULL AND c.state NOT IN ('acknowledged', 'invalid', 'invalid_requested')),
    (5, 'pause', 'in_progress', 'waiting_on_citizen', jsonb_build_object('reason', '等待群众提供具体位置照片。'),
        c.responded_at + interval '3 hours', c.state = 'waiting_on_citizen'),
    (5, 'escalate', 'in_progress', 'escalated', jsonb_build_object('level', 'grid_leader', 'to', c.leader),
        c.responded_at + interval '3 hours', c.state = 'escalated'),
    (5, 'resolve', 'in_progress', 'resolved',
        jsonb_build_object('measures', '已联系电工更换灯泡，路灯恢复正常。', 'photos', '[]'::jsonb),
        c.resolved_at, c.resolved_at IS NOT NULL),
    (3, 'request_invalid', 'assigned', 'invalid_requested', jsonb_build_object('reason', jsonb_build_object('kind', 'spam')),
        c.submitted_at + interval '20 minutes', c.state IN ('invalid', 'invalid_requested')),
    (4, 'approve_invalid', 'invalid_requested', 'invalid', '{}'::jsonb, c.closed_at, c.state = 'invalid'),
    (6, 'follow_up', 'resolved', 'followed_up',
        jsonb_build_object('method', 'phone', 'resolved', true, 'satisfaction', 'satisfied'),
        c.resolved_at + interval '1 day', c.state IN ('closed', 'followed_up')),
    (6, 'follow_up', 'resolved', 'reopened',
        jsonb_build_object('method', 'phone', 'resolved', false, 'satisfaction', 'unsatisfied'),
        c.responded_at + interval '2 days', c.state = 'reopened'),
    (7, 'close', 'followed_up', 'closed', '{}'::jsonb, c.closed_at, c.state = 'closed')
 ) AS s(n, action, from_state, to_state, details, at, happened)
 WHERE s.happened;

-- Timers: the deadlines each case reached before it was met, all fired.
INSERT INTO routing.timers (id, tenant_id, case_id, kind, due_at, fired_at, target, point, case_version)
SELECT gen_random_uuid(), current_setting('bench.tenant')::uuid, c.id, t.target || ':' || t.point, t.due, t.due,
       t.target, t.point, 1
  FROM bench_cases c
 CROSS JOIN LATERAL (VALUES
    ('first_response', 'breach', c.submitted_at + interval '30 minutes'),
    ('resolution', 'reminder_80', c.submitted_at + interval '12 days'),
    ('resolution', 'breach', c.submitted_at + interval '15 days')
 ) AS t(target, point, due)
 WHERE t.due < now()
   AND CASE t.target WHEN 'first_response' THEN c.responded_at IS NULL
                     ELSE coalesce(c.resolved_at, c.closed_at, 'infinity') > t.due END;

-- What those timers wrote: a reminder at each, and at a missed deadline the grid leader
-- added as supervisor, as routing's scheduler writes them.
INSERT INTO routing.case_timeline (id, tenant_id, case_id, action, actor_id, details, occurred_at)
SELECT gen_random_uuid(), t.tenant_id, t.case_id, 'reminder', NULL::uuid,
       jsonb_build_object('target', t.target, 'percent', CASE t.point WHEN 'breach' THEN 100 ELSE 80 END, 'due_at', t.due_at),
       t.fired_at
  FROM routing.timers t JOIN bench_cases c ON c.id = t.case_id
 WHERE t.tenant_id = current_setting('bench.tenant')::uuid
UNION ALL
SELECT gen_random_uuid(), t.tenant_id, t.case_id, 'escalated', NULL::uuid,
       jsonb_build_object('target', t.target, 'level', 'grid_leader', 'supervisor', c.leader),
       t.fired_at + interval '1 second'
  FROM routing.timers t JOIN bench_cases c ON c.id = t.case_id
 WHERE t.tenant_id = current_setting('bench.tenant')::uuid AND t.point = 'breach' AND c.leader IS NOT NULL;

-- Supervisors of escalated cases and of open cases past their deadline: the grid leader.
INSERT INTO routing.case_supervisors (tenant_id, case_id, user_id, level, added_at)
SELECT current_setting('bench.tenant')::uuid, id, leader, 'grid_leader', submitted_at + interval '15 days'
  FROM bench_cases
 WHERE leader IS NOT NULL AND leader <> worker
   AND (state = 'escalated' OR (state NOT IN ('closed', 'invalid', 'followed_up', 'resolved')
                                 AND submitted_at + interval '15 days' < now()));

DROP TABLE bench_cases, bench_grids, bench_categories, bench_template;
ANALYZE intake.reports, routing.cases, routing.case_timeline, routing.timers, routing.case_supervisors;
