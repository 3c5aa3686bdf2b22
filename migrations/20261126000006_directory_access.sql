-- Directory and staff access: sign-in names, passwords, sessions, API tokens, county
-- users, sign-in throttling, one-time reset codes, tenant contact and suspension, and
-- QR scan counts.

ALTER TABLE routing.tenants
    ADD COLUMN contact_phone text
        CONSTRAINT tenants_contact_phone_length CHECK (char_length(contact_phone) <= 30),
    ADD COLUMN suspended_at timestamptz;

ALTER TABLE routing.staff_users
    ADD COLUMN username text
        CONSTRAINT staff_users_username_format CHECK (username ~ '^[a-z][a-z0-9_.-]{2,31}$'),
    ADD COLUMN password_hash text,
    ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();

ALTER TABLE routing.grid_nodes
    ADD COLUMN position integer NOT NULL DEFAULT 0,
    ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();

-- County staff belong to no tenant. Global; only the county's own people.
CREATE TABLE routing.county_users (
    id uuid PRIMARY KEY,
    name text NOT NULL CONSTRAINT county_users_name_length CHECK (char_length(name) BETWEEN 1 AND 50),
    phone text NOT NULL CONSTRAINT county_users_phone_key UNIQUE
        CONSTRAINT county_users_phone_format CHECK (phone ~ '^1[3-9][0-9]{9}$'),
    username text CONSTRAINT county_users_username_format CHECK (username ~ '^[a-z][a-z0-9_.-]{2,31}$'),
    password_hash text,
    roles text[] NOT NULL CONSTRAINT county_users_roles_check
        CHECK (roles <@ ARRAY['county_centre', 'county_admin']::text[] AND cardinality(roles) > 0),
    active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Global lookup before the tenant is known: every sign-in name (a phone number or a
-- username) of every person, unique across the deployment. tenant_id is NULL for
-- county users.
CREATE TABLE routing.logins (
    login text PRIMARY KEY,
    user_id uuid NOT NULL,
    tenant_id uuid REFERENCES routing.tenants (id),
    kind text NOT NULL CONSTRAINT logins_kind_check CHECK (kind IN ('phone', 'username'))
);
CREATE INDEX logins_user ON routing.logins (user_id);

-- Global lookup: a session token's hash → who. The token itself is never stored.
CREATE TABLE routing.sessions (
    token_hash bytea PRIMARY KEY,
    user_id uuid NOT NULL,
    tenant_id uuid REFERENCES routing.tenants (id),
    csrf_token text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sessions_user ON routing.sessions (user_id);
CREATE INDEX sessions_expiry ON routing.sessions (expires_at);

-- API tokens for integrations: scoped to a tenant and a role at a node, revocable.
CREATE TABLE routing.api_tokens (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES routing.tenants (id),
    name text NOT NULL CONSTRAINT api_tokens_name_length CHECK (char_length(name) BETWEEN 1 AND 60),
    role text NOT NULL CONSTRAINT api_tokens_role_check
        CHECK (role IN ('grid_worker', 'grid_leader', 'village_head', 'township_centre', 'township_admin')),
    node_id uuid NOT NULL,
    created_by uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz,
    last_used_at timestamptz,
    CONSTRAINT api_tokens_node_fkey FOREIGN KEY (tenant_id, node_id)
        REFERENCES routing.grid_nodes (tenant_id, id)
);
SELECT public.mashang_enable_tenant_rls('routing.api_tokens');

-- Global lookup: an API token's hash → which token of which tenant.
CREATE TABLE routing.api_token_lookup (
    token_hash bytea PRIMARY KEY,
    token_id uuid NOT NULL REFERENCES routing.api_tokens (id),
    tenant_id uuid NOT NULL REFERENCES routing.tenants (id)
);

-- Failed sign-ins, for throttling per account and per address across replicas.
CREATE TABLE routing.signin_failures (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    login text NOT NULL,
    address text NOT NULL,
    failed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX signin_failures_login ON routing.signin_failures (login, failed_at);
CREATE INDEX signin_failures_address ON routing.signin_failures (address, failed_at);

-- One-time codes an administrator issues to let a person set a new password.
CREATE TABLE routing.reset_codes (
    user_id uuid PRIMARY KEY,
    tenant_id uuid REFERENCES routing.tenants (id),
    code_hash bytea NOT NULL,
    issued_by uuid,
    expires_at timestamptz NOT NULL,
    attempts integer NOT NULL DEFAULT 0
);

-- Intake counts each opening of a QR landing page, per code and local day.
CREATE TABLE intake.qr_scans (
    tenant_id uuid NOT NULL,
    qr_code_id uuid NOT NULL,
    day date NOT NULL,
    scans bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, qr_code_id, day)
);
SELECT public.mashang_enable_tenant_rls('intake.qr_scans');
