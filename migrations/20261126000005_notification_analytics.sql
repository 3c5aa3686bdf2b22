-- Notification: the in-app inbox. Analytics: per-tenant counters.

CREATE TABLE notification.notices (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL,
    user_id uuid NOT NULL,
    event_id uuid NOT NULL,
    case_id uuid,
    kind text NOT NULL,
    title text NOT NULL,
    body text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    read_at timestamptz,
    CONSTRAINT notices_event_user_key UNIQUE (tenant_id, event_id, user_id)
);
CREATE INDEX notices_user ON notification.notices (tenant_id, user_id, created_at DESC);
SELECT public.mashang_enable_tenant_rls('notification.notices');
SELECT public.mashang_create_outbox_inbox('notification');

CREATE TABLE analytics.tenant_counters (
    tenant_id uuid NOT NULL,
    metric text NOT NULL,
    value bigint NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, metric)
);
SELECT public.mashang_enable_tenant_rls('analytics.tenant_counters');
-- The county centre reads every township's figures side by side; only the analytics
-- service sets app.county_read, after checking the caller's county role.
CREATE POLICY county_read ON analytics.tenant_counters FOR SELECT
    USING (current_setting('app.county_read', true) = 'on');
SELECT public.mashang_create_outbox_inbox('analytics');
