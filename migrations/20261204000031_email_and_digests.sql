-- E-mail for the people who read it, and the township centre's morning digest.
--
-- Administrators, centre staff and county users may give an e-mail address: the
-- e-mail channel sends them digests and alerts. Optional, bounded, one address.
ALTER TABLE routing.staff_users
    ADD COLUMN email text
        CONSTRAINT staff_users_email_format CHECK (char_length(email) <= 254 AND email ~ '^[^@[:space:]]+@[^@[:space:]]+$');
ALTER TABLE routing.county_users
    ADD COLUMN email text
        CONSTRAINT county_users_email_format CHECK (char_length(email) <= 254 AND email ~ '^[^@[:space:]]+@[^@[:space:]]+$');

-- When a township's morning digest goes out, in the township's own time zone
-- (07:30 when there is no row), and whether it does at all.
CREATE TABLE notification.digest_settings (
    tenant_id uuid PRIMARY KEY REFERENCES routing.tenants (id),
    morning_at time NOT NULL DEFAULT '07:30',
    active boolean NOT NULL DEFAULT true,
    updated_at timestamptz NOT NULL DEFAULT now()
);
SELECT public.mashang_enable_tenant_rls('notification.digest_settings');
SELECT routing.log_changes_of('notification.digest_settings', '{tenant_id}', 'tenant_id', '{updated_at}', '{}');

-- One row per township and local day: the claim that makes the digest go out once.
-- It is inserted in the same transaction as the digest's notices and deliveries, so
-- a second pass or a second replica finds it and does nothing, and a pass that dies
-- leaves nothing behind for the next one to skip.
CREATE TABLE notification.digests (
    tenant_id uuid NOT NULL REFERENCES routing.tenants (id),
    local_date date NOT NULL,
    -- `digest:<township code>:<local date>`, the prefix of its deliveries' keys.
    idempotency_key text NOT NULL CONSTRAINT digests_key_length CHECK (char_length(idempotency_key) <= 100),
    -- What it counted: {"new": n, "overdue": n, "follow_up": n}.
    counts jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, local_date)
);
SELECT public.mashang_enable_tenant_rls('notification.digests');
