-- Shared helpers for every schema: the tenant row-level-security policy and the
-- outbox wake-up notification. Owned by the migration (owner) role.

-- Puts a table under tenant isolation: ENABLE + FORCE row-level security, and one
-- policy that only lets through rows of the tenant set for the current transaction
-- (set_config('app.tenant_id', …, true)). No tenant set: no rows.
CREATE FUNCTION public.mashang_enable_tenant_rls(tbl regclass) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', tbl);
    EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', tbl);
    EXECUTE format(
        'CREATE POLICY tenant_isolation ON %s '
        'USING (tenant_id = nullif(current_setting(''app.tenant_id'', true), '''')::uuid) '
        'WITH CHECK (tenant_id = nullif(current_setting(''app.tenant_id'', true), '''')::uuid)',
        tbl);
END;
$$;

-- Creates a service's transactional outbox and idempotency inbox in its schema.
-- Both are tenant-isolated like everything else; only the relay, which sets
-- app.outbox_relay for its own transaction, reads the outbox across tenants to
-- publish, and deletes old rows of both.
CREATE FUNCTION public.mashang_create_outbox_inbox(svc text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format($f$
        CREATE TABLE %1$I.outbox (
            id uuid PRIMARY KEY,
            tenant_id uuid NOT NULL,
            event_type text NOT NULL,
            envelope jsonb NOT NULL,
            created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
            published_at timestamptz,
            attempts integer NOT NULL DEFAULT 0,
            last_error text
        )$f$, svc);
    EXECUTE format('CREATE INDEX outbox_pending ON %1$I.outbox (created_at) WHERE published_at IS NULL', svc);
    EXECUTE format('CREATE INDEX outbox_published ON %1$I.outbox (published_at) WHERE published_at IS NOT NULL', svc);
    PERFORM public.mashang_enable_tenant_rls(format('%I.outbox', svc)::regclass);
    EXECUTE format(
        'CREATE POLICY outbox_relay ON %1$I.outbox '
        'USING (current_setting(''app.outbox_relay'', true) = ''on'')', svc);
    EXECUTE format(
        'CREATE TRIGGER outbox_notify AFTER INSERT ON %1$I.outbox '
        'FOR EACH STATEMENT EXECUTE FUNCTION public.mashang_outbox_notify()', svc);

    EXECUTE format($f$
        CREATE TABLE %1$I.inbox (
            consumer text NOT NULL,
            event_id uuid NOT NULL,
            tenant_id uuid NOT NULL,
            event_type text NOT NULL,
            received_at timestamptz NOT NULL DEFAULT clock_timestamp(),
            PRIMARY KEY (consumer, event_id)
        )$f$, svc);
    EXECUTE format('CREATE INDEX inbox_received ON %1$I.inbox (received_at)', svc);
    PERFORM public.mashang_enable_tenant_rls(format('%I.inbox', svc)::regclass);
    -- The relay also prunes old inbox rows (past any redelivery window); a DELETE
    -- with a WHERE clause needs read access too, so the policy covers all commands.
    EXECUTE format(
        'CREATE POLICY inbox_prune ON %1$I.inbox '
        'USING (current_setting(''app.outbox_relay'', true) = ''on'')', svc);
END;
$$;

-- Wakes the outbox relays (LISTEN mashang_outbox); the payload names the schema.
CREATE FUNCTION public.mashang_outbox_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('mashang_outbox', TG_TABLE_SCHEMA);
    RETURN NULL;
END;
$$;

CREATE SCHEMA routing;
CREATE SCHEMA intake;
CREATE SCHEMA notification;
CREATE SCHEMA analytics;
