-- pgbench script for tests/bench/report-throughput: one report submission as
-- intake's submit.rs runs it for a JSON report without photos or an
-- Idempotency-Key: first the tracking number, taken in a transaction of its own;
-- then one transaction with the tenant setting, the report with the burst count of
-- its code's day (one past the cap) in the same statement, its first step, the
-- tracking-number lookup and the report.submitted event in the outbox. Run as the
-- application role with -M prepared (sqlx prepares its statements too) and -D
-- tenant=… grid=… prefix=… codes=… qrs=…: the reports are spread over the township's
-- `codes` QR codes (`qrs`, their ids separated by commas), as the load generator
-- spreads its reports, so the burst count reads the same index entries as the app's.
\set n random(1, 1000000000)
\set code random(1, :codes)
BEGIN;
SELECT set_config('app.tenant_id', :tenant::text, true);
INSERT INTO intake.tracking_sequences (tenant_id, day, last_value) VALUES (:tenant::uuid, (now() AT TIME ZONE 'Asia/Shanghai')::date, 1) ON CONFLICT (tenant_id, day) DO UPDATE SET last_value = intake.tracking_sequences.last_value + 1 RETURNING :prefix::text || '-' || to_char(day, 'YYYYMMDD') || '-' || lpad(last_value::text, greatest(4, length(last_value::text)), '0') AS number \gset
COMMIT;
BEGIN;
SELECT set_config('app.tenant_id', :tenant::text, true), gen_random_uuid() AS rid, gen_random_uuid() AS eid, (string_to_array(:qrs, ','))[:code]::uuid AS qr \gset
WITH today AS (SELECT count(*) AS n FROM (SELECT 1 FROM intake.reports WHERE tenant_id = :tenant::uuid AND qr_code_id = :qr::uuid AND submitted_at >= (date_trunc('day', now() AT TIME ZONE 'Asia/Shanghai') AT TIME ZONE 'Asia/Shanghai') ORDER BY submitted_at DESC LIMIT 31) AS recent) INSERT INTO intake.reports (id, tenant_id, tracking_number, status_secret_hash, qr_code_id, grid_node_id, category, description, contact_name, contact_phone_sealed, contact_phone_last4, lat, lng, channel, status, submitted_at, updated_at, flags, submitted_by) SELECT :rid::uuid, :tenant::uuid, :number::text, sha256(uuid_send(gen_random_uuid())), :qr::uuid, :grid::uuid, 'roads', '基准测试：村口路灯坏了，晚上很黑（pgbench-' || :n::text || '）', NULL, NULL, NULL, NULL, NULL, 'qr', 'submitted', now(), now(), CASE WHEN today.n >= 30 THEN '{burst}'::text[] ELSE '{}'::text[] END, NULL FROM today RETURNING (SELECT n FROM today) AS today \gset
INSERT INTO intake.report_steps (tenant_id, report_id, status, occurred_at) VALUES (:tenant::uuid, :rid::uuid, 'submitted', now());
INSERT INTO intake.tracking_numbers (tracking_number, tenant_id, report_id) VALUES (:number::text, :tenant::uuid, :rid::uuid);
INSERT INTO intake.outbox (id, tenant_id, event_type, envelope) VALUES (:eid::uuid, :tenant::uuid, 'report.submitted', jsonb_build_object('id', :eid::text, 'type', 'report.submitted', 'version', 1, 'tenant_id', :tenant::text, 'occurred_at', now(), 'payload', jsonb_build_object('report_id', :rid::text, 'tracking_number', :number::text, 'qr_code_id', :qr::text, 'grid_node_id', :grid::text, 'category', 'roads', 'description', '基准测试：村口路灯坏了，晚上很黑（pgbench-' || :n::text || '）', 'contact_phone_masked', NULL, 'contact_phone_sealed', NULL, 'contact_name', NULL, 'flags', CASE WHEN :today::bigint >= 30 THEN '["burst"]'::jsonb ELSE '[]'::jsonb END, 'location', NULL, 'attachments', '[]'::jsonb, 'channel', 'qr', 'submitted_at', now())));
COMMIT;
