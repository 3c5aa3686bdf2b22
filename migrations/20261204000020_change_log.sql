-- The change log (操作记录): every insert, update and delete of a township's rules,
-- people, QR codes and settings, and of the townships themselves, with who made it
-- (the transaction's app.actor: `staff:<id>`, `county:<id>` or `token:<id>`; none is
-- the system: the scheduler, the command line, the demo), when, and the row before
-- and after. Written by a trigger, so every path (pages, the JSON API, imports) is
-- recorded alike and none can forget to. Secrets (password hashes, code hashes, QR
-- tokens) are never copied: their values show as "***", a change to them as the
-- column's name in `changed`. Columns that move on their own (last_assigned_at,
-- updated_at) neither make an entry nor show in one.
CREATE TABLE routing.change_log (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id uuid NOT NULL REFERENCES routing.tenants (id),
    at timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor_kind text NOT NULL
        CONSTRAINT change_log_actor_kind_check CHECK (actor_kind IN ('staff', 'county', 'token', 'system')),
    actor_id uuid,
    -- The table (`sla_policies`, `staff_users`, …) and the row's key in it, as text.
    entity text NOT NULL,
    entity_key text NOT NULL,
    operation text NOT NULL
        CONSTRAINT change_log_operation_check CHECK (operation IN ('insert', 'update', 'delete')),
    changed text[] NOT NULL DEFAULT '{}',
    before jsonb,
    after jsonb,
    CONSTRAINT change_log_actor_check CHECK ((actor_kind = 'system') = (actor_id IS NULL))
);
-- Secondary indexes start with a column other than tenant_id (see 20261127000009).
CREATE INDEX change_log_at ON routing.change_log (at, tenant_id);
CREATE INDEX change_log_actor ON routing.change_log (actor_id, at) WHERE actor_id IS NOT NULL;
SELECT public.mashang_enable_tenant_rls('routing.change_log');

-- Nothing rewrites the record: the trigger below is the only writer (as the owner),
-- and the application role's grants on this table are cut to SELECT when it is
-- prepared (`mashang migrate`); this refuses the rest even to the owner.
CREATE FUNCTION routing.change_log_is_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'routing.change_log is append-only';
END;
$$;
CREATE TRIGGER change_log_append_only BEFORE UPDATE OR DELETE ON routing.change_log
    FOR EACH ROW EXECUTE FUNCTION routing.change_log_is_append_only();

-- The trigger function. Arguments: the key columns, the tenant column (`tenant_id`,
-- or `id` for routing.tenants), the columns that change on their own (ignored), the
-- secret columns (masked).
CREATE FUNCTION routing.record_change() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    keys text[] := TG_ARGV[0]::text[];
    tenant_col text := TG_ARGV[1];
    ignored text[] := TG_ARGV[2]::text[];
    secret text[] := TG_ARGV[3]::text[];
    old_row jsonb;
    new_row jsonb;
    row_now jsonb;
    changed text[] := '{}';
    col text;
    actor text := nullif(current_setting('app.actor', true), '');
    kind text := 'system';
    who uuid;
    tenant uuid;
    key text;
    saved text := current_setting('app.tenant_id', true);
BEGIN
    IF TG_OP <> 'INSERT' THEN old_row := to_jsonb(OLD) - ignored; END IF;
    IF TG_OP <> 'DELETE' THEN new_row := to_jsonb(NEW) - ignored; END IF;
    IF TG_OP = 'UPDATE' THEN
        IF old_row = new_row THEN
            RETURN NULL;
        END IF;
        SELECT coalesce(array_agg(k ORDER BY k), '{}') INTO changed
        FROM jsonb_object_keys(new_row) AS k
        WHERE new_row -> k IS DISTINCT FROM old_row -> k;
    END IF;
    FOREACH col IN ARRAY secret LOOP
        IF old_row ? col AND old_row -> col <> 'null'::jsonb THEN
            old_row := jsonb_set(old_row, ARRAY[col], '"***"');
        END IF;
        IF new_row ? col AND new_row -> col <> 'null'::jsonb THEN
            new_row := jsonb_set(new_row, ARRAY[col], '"***"');
        END IF;
    END LOOP;
    row_now := coalesce(new_row, old_row);
    tenant := (row_now ->> tenant_col)::uuid;
    -- A county-level row (a county person's reset code) belongs to no township.
    IF tenant IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT string_agg(row_now ->> k, '/') INTO key FROM unnest(keys) AS k;
    IF actor ~ '^(staff|county|token):[0-9a-f-]{36}$' THEN
        kind := split_part(actor, ':', 1);
        who := split_part(actor, ':', 2)::uuid;
    END IF;
    -- The row's tenant for the policy's check, then back to what the caller had.
    PERFORM set_config('app.tenant_id', tenant::text, true);
    INSERT INTO routing.change_log (tenant_id, actor_kind, actor_id, entity, entity_key, operation, changed, before, after)
    VALUES (tenant, kind, who, TG_TABLE_NAME, coalesce(key, ''), lower(TG_OP), changed, old_row, new_row);
    PERFORM set_config('app.tenant_id', coalesce(saved, ''), true);
    RETURN NULL;
END;
$$;

-- Puts a table under the change log (for configuration tables added later too).
CREATE FUNCTION routing.log_changes_of(tbl regclass, keys text[], tenant_col text, ignored text[], secret text[])
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format(
        'CREATE TRIGGER log_changes AFTER INSERT OR UPDATE OR DELETE ON %s '
        'FOR EACH ROW EXECUTE FUNCTION routing.record_change(%L, %L, %L, %L)',
        tbl, keys, tenant_col, ignored, secret);
END;
$$;

SELECT routing.log_changes_of('routing.tenants', '{code}', 'id', '{}', '{}');
SELECT routing.log_changes_of('routing.tenant_settings', '{tenant_id}', 'tenant_id', '{updated_at}', '{}');
SELECT routing.log_changes_of('routing.grid_nodes', '{code}', 'tenant_id', '{updated_at}', '{}');
SELECT routing.log_changes_of('routing.staff_users', '{id}', 'tenant_id', '{updated_at,last_assigned_at}', '{password_hash}');
SELECT routing.log_changes_of('routing.staff_roles', '{user_id,role,node_id}', 'tenant_id', '{}', '{}');
SELECT routing.log_changes_of('routing.reset_codes', '{user_id}', 'tenant_id', '{attempts}', '{code_hash}');
SELECT routing.log_changes_of('routing.categories', '{code}', 'tenant_id', '{}', '{}');
SELECT routing.log_changes_of('routing.qr_codes', '{id}', 'tenant_id', '{}', '{token}');
SELECT routing.log_changes_of('routing.sla_policies', '{category,priority}', 'tenant_id', '{updated_at}', '{}');
SELECT routing.log_changes_of('routing.calendars', '{tenant_id}', 'tenant_id', '{updated_at}', '{}');
SELECT routing.log_changes_of('routing.calendar_overrides', '{day}', 'tenant_id', '{}', '{}');
SELECT routing.log_changes_of('routing.assignment_rules', '{id}', 'tenant_id', '{}', '{}');
SELECT routing.log_changes_of('routing.reply_templates', '{id}', 'tenant_id', '{}', '{}');
SELECT routing.log_changes_of('routing.api_tokens', '{id}', 'tenant_id', '{last_used_at}', '{}');
