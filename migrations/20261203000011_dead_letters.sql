-- Dead letters: events a consumer can never handle (undecodable, unknown tenant,
-- referring to nothing), parked in the consuming service's schema where an operator
-- can list them (`mashang events dead`) and put them back (`mashang events replay`).
-- Both buses write here; a transient failure is never parked, it is retried.
--
-- The rows span tenants and are read by operators and by each service's replay
-- worker, so besides the tenant policy (a tenant transaction sees its own rows only)
-- a second policy lets a transaction that has set app.dead_letters = on read and
-- write every row (mashang_db::SystemScope::DeadLetters). A message that was not an
-- envelope at all has no event id, type or tenant: only that scope ever sees it.
CREATE FUNCTION public.mashang_create_dead_letters(svc text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format($f$
        CREATE TABLE %1$I.dead_letters (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            consumer text NOT NULL,
            event_id uuid,
            event_type text,
            tenant_id uuid,
            raw bytea NOT NULL,
            first_error text NOT NULL,
            last_error text NOT NULL,
            count integer NOT NULL DEFAULT 1,
            first_parked_at timestamptz NOT NULL DEFAULT clock_timestamp(),
            last_parked_at timestamptz NOT NULL DEFAULT clock_timestamp(),
            -- Set by `mashang events replay`; the service's worker takes rows whose time
            -- has come, pushes it a lease ahead while it works, and deletes the row once
            -- the event is handled.
            replay_requested_at timestamptz,
            CONSTRAINT dead_letters_once UNIQUE (consumer, event_id)
        )$f$, svc);
    EXECUTE format(
        'CREATE INDEX dead_letters_replay ON %1$I.dead_letters (replay_requested_at) '
        'WHERE replay_requested_at IS NOT NULL', svc);
    PERFORM public.mashang_enable_tenant_rls(format('%I.dead_letters', svc)::regclass);
    EXECUTE format(
        'CREATE POLICY dead_letters_system ON %1$I.dead_letters '
        'USING (current_setting(''app.dead_letters'', true) = ''on'') '
        'WITH CHECK (current_setting(''app.dead_letters'', true) = ''on'')', svc);
END;
$$;

SELECT public.mashang_create_dead_letters('intake');
SELECT public.mashang_create_dead_letters('routing');
SELECT public.mashang_create_dead_letters('notification');
SELECT public.mashang_create_dead_letters('analytics');
