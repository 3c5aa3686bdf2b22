-- Row-level security reads its settings once per statement, not once per row.
--
-- Every policy compared a column or a constant with `current_setting(…)` directly. The
-- function is only stable, so PostgreSQL called it for every row a scan returned, and
-- an OR of two policies (a township's own rows, or a system scope such as the county's
-- read) stayed a per-row filter: a county read of 227 000 open cases spent 80 ms in
-- the filter, and the collapsed row estimate turned a hash aggregate into an on-disk
-- sort (250 ms instead of 60 ms). Written as a sub-select, the setting becomes an
-- InitPlan, evaluated once per statement and still usable in an index condition.
--
-- The policies keep their names and meaning; only their expressions change. The
-- helper that creates the township policy of new tables writes the new form too.

DO $$
DECLARE
    p record;
    scope text;
BEGIN
    FOR p IN
        SELECT schemaname, tablename, policyname, qual, with_check
        FROM pg_policies
        WHERE qual LIKE '%current_setting(%'
    LOOP
        IF p.qual = '(tenant_id = (NULLIF(current_setting(''app.tenant_id''::text, true), ''''::text))::uuid)' THEN
            EXECUTE format(
                'ALTER POLICY %I ON %I.%I '
                'USING (tenant_id = (SELECT nullif(current_setting(''app.tenant_id'', true), '''')::uuid))',
                p.policyname, p.schemaname, p.tablename);
        ELSE
            scope := substring(p.qual FROM '^\(current_setting\(''(app\.[a-z_]+)''::text, true\) = ''on''::text\)$');
            IF scope IS NULL THEN
                RAISE EXCEPTION 'policy % on %.% has an unexpected expression: %',
                    p.policyname, p.schemaname, p.tablename, p.qual;
            END IF;
            EXECUTE format(
                'ALTER POLICY %I ON %I.%I USING ((SELECT current_setting(%L, true)) = ''on'')',
                p.policyname, p.schemaname, p.tablename, scope);
        END IF;
        IF p.with_check IS NOT NULL THEN
            IF p.with_check = '(tenant_id = (NULLIF(current_setting(''app.tenant_id''::text, true), ''''::text))::uuid)' THEN
                EXECUTE format(
                    'ALTER POLICY %I ON %I.%I '
                    'WITH CHECK (tenant_id = (SELECT nullif(current_setting(''app.tenant_id'', true), '''')::uuid))',
                    p.policyname, p.schemaname, p.tablename);
            ELSE
                scope := substring(p.with_check FROM '^\(current_setting\(''(app\.[a-z_]+)''::text, true\) = ''on''::text\)$');
                IF scope IS NULL THEN
                    RAISE EXCEPTION 'policy % on %.% has an unexpected check: %',
                        p.policyname, p.schemaname, p.tablename, p.with_check;
                END IF;
                EXECUTE format(
                    'ALTER POLICY %I ON %I.%I WITH CHECK ((SELECT current_setting(%L, true)) = ''on'')',
                    p.policyname, p.schemaname, p.tablename, scope);
            END IF;
        END IF;
    END LOOP;
END;
$$;

CREATE OR REPLACE FUNCTION public.mashang_enable_tenant_rls(tbl regclass) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', tbl);
    EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', tbl);
    EXECUTE format(
        'CREATE POLICY tenant_isolation ON %s '
        'USING (tenant_id = (SELECT nullif(current_setting(''app.tenant_id'', true), '''')::uuid)) '
        'WITH CHECK (tenant_id = (SELECT nullif(current_setting(''app.tenant_id'', true), '''')::uuid))',
        tbl);
END;
$$;
