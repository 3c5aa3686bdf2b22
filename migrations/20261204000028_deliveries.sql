-- Delivery of messages on the channels people read: robots in the village's WeCom or
-- DingTalk group, SMS, webhooks to other systems, e-mail.
--
-- A channel is configured per township: its kind, a name, settings anyone may see
-- (an SMS signature and template codes, a mail server's host) and secrets sealed with
-- the deployment's key (a robot's URL with its key, an access key, a webhook's
-- signing secret), the grid subtree it serves and the event types it takes.
CREATE TABLE notification.channels (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES routing.tenants (id),
    kind text NOT NULL
        CONSTRAINT channels_kind_check CHECK (kind IN ('wecom', 'dingtalk', 'sms_aliyun', 'sms_tencent', 'webhook', 'email')),
    name text NOT NULL CONSTRAINT channels_name_length CHECK (char_length(name) BETWEEN 1 AND 50),
    settings jsonb NOT NULL DEFAULT '{}'::jsonb,
    secrets_sealed bytea NOT NULL,
    node_id uuid,
    -- NULL: every event type.
    events text[],
    -- A token bucket per channel: this many messages a minute at most.
    per_minute integer NOT NULL DEFAULT 20 CONSTRAINT channels_rate_check CHECK (per_minute BETWEEN 1 AND 6000),
    active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT channels_tenant_id_key UNIQUE (tenant_id, id)
);
CREATE INDEX channels_node ON notification.channels (node_id, tenant_id) WHERE node_id IS NOT NULL;
SELECT public.mashang_enable_tenant_rls('notification.channels');
SELECT routing.log_changes_of('notification.channels', '{name}', 'tenant_id', '{updated_at}', '{secrets_sealed}');

-- One delivery per (event, recipient, channel): its idempotency key makes a
-- redelivered event or a restarted service add nothing. queued → sent → delivered, or
-- failed (permanent answer) or dead (retries used up); skipped when, at the moment of
-- sending, the message no longer applies (the case was acknowledged meanwhile).
CREATE TABLE notification.deliveries (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES routing.tenants (id),
    idempotency_key text NOT NULL CONSTRAINT deliveries_key_length CHECK (char_length(idempotency_key) <= 200),
    event_id uuid,
    event_type text,
    case_id uuid,
    user_id uuid,
    channel_id uuid NOT NULL,
    -- The message kind (`case_assigned`, `case_reminded`, `test`, …).
    kind text NOT NULL,
    message jsonb NOT NULL,
    state text NOT NULL DEFAULT 'queued'
        CONSTRAINT deliveries_state_check CHECK (state IN ('queued', 'sent', 'delivered', 'failed', 'dead', 'skipped')),
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    lease_until timestamptz,
    provider_message_id text,
    last_error text CONSTRAINT deliveries_error_length CHECK (char_length(last_error) <= 2000),
    created_at timestamptz NOT NULL DEFAULT now(),
    sent_at timestamptz,
    delivered_at timestamptz,
    CONSTRAINT deliveries_key UNIQUE (tenant_id, idempotency_key),
    CONSTRAINT deliveries_channel_fkey FOREIGN KEY (tenant_id, channel_id)
        REFERENCES notification.channels (tenant_id, id) ON DELETE CASCADE
);
-- Secondary indexes start with a column other than tenant_id (see 20261127000009).
CREATE INDEX deliveries_due ON notification.deliveries (next_attempt_at) WHERE state = 'queued';
CREATE INDEX deliveries_channel ON notification.deliveries (channel_id, created_at);
CREATE INDEX deliveries_provider ON notification.deliveries (provider_message_id) WHERE provider_message_id IS NOT NULL;
CREATE INDEX deliveries_case ON notification.deliveries (case_id, tenant_id) WHERE case_id IS NOT NULL;
SELECT public.mashang_enable_tenant_rls('notification.deliveries');
-- The sender of every notification replica claims due deliveries of every township,
-- then sends each in that township's own transaction.
CREATE POLICY deliveries_sender ON notification.deliveries
    USING (current_setting('app.delivery_sender', true) = 'on');

-- Every attempt and the provider's answer, as it came (cut to 2000 characters).
CREATE TABLE notification.delivery_attempts (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL,
    delivery_id uuid NOT NULL,
    at timestamptz NOT NULL DEFAULT clock_timestamp(),
    outcome text NOT NULL
        CONSTRAINT delivery_attempts_outcome_check CHECK (outcome IN ('sent', 'retry', 'failed', 'skipped')),
    http_status integer,
    answer text CONSTRAINT delivery_attempts_answer_length CHECK (char_length(answer) <= 2000),
    duration_ms integer,
    CONSTRAINT delivery_attempts_delivery_fkey FOREIGN KEY (delivery_id)
        REFERENCES notification.deliveries (id) ON DELETE CASCADE
);
CREATE INDEX delivery_attempts_delivery ON notification.delivery_attempts (delivery_id, at);
SELECT public.mashang_enable_tenant_rls('notification.delivery_attempts');

-- A new delivery wakes the senders at once (they also look every few seconds).
CREATE FUNCTION notification.deliveries_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('mashang_deliveries', '');
    RETURN NULL;
END;
$$;
CREATE TRIGGER deliveries_notify AFTER INSERT ON notification.deliveries
    FOR EACH STATEMENT EXECUTE FUNCTION notification.deliveries_notify();

-- A new notice is told at once to the person's open streams (`GET /api/v1/inbox/stream`).
CREATE FUNCTION notification.notices_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('mashang_notices', NEW.tenant_id::text || ':' || NEW.user_id::text || ':' || NEW.id::text);
    RETURN NULL;
END;
$$;
CREATE TRIGGER notices_notify AFTER INSERT ON notification.notices
    FOR EACH ROW EXECUTE FUNCTION notification.notices_notify();

-- The words of messages on outside channels, where a township changed the defaults.
CREATE TABLE notification.message_templates (
    tenant_id uuid NOT NULL REFERENCES routing.tenants (id),
    kind text NOT NULL CONSTRAINT message_templates_kind_length CHECK (char_length(kind) BETWEEN 1 AND 40),
    title text NOT NULL CONSTRAINT message_templates_title_length CHECK (char_length(title) BETWEEN 1 AND 60),
    text_zh text NOT NULL CONSTRAINT message_templates_zh_length CHECK (char_length(text_zh) BETWEEN 1 AND 300),
    text_en text NOT NULL DEFAULT '' CONSTRAINT message_templates_en_length CHECK (char_length(text_en) <= 300),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, kind)
);
SELECT public.mashang_enable_tenant_rls('notification.message_templates');
SELECT routing.log_changes_of('notification.message_templates', '{kind}', 'tenant_id', '{updated_at}', '{}');
