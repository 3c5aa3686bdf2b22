-- Sign-in links for phones (docs/decisions/0018): a short-lived, single-use link that
-- opens one case signed in as one person.

-- The link: person, case, lifetime and use. A tenant table under row-level security.
-- The token is not here; its keyed hash is in the lookup below.
CREATE TABLE routing.case_links (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES routing.tenants (id),
    user_id uuid NOT NULL,
    case_id uuid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at timestamptz,
    revoked_at timestamptz,
    CONSTRAINT case_links_user_fkey FOREIGN KEY (tenant_id, user_id)
        REFERENCES routing.staff_users (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT case_links_case_fkey FOREIGN KEY (tenant_id, case_id)
        REFERENCES routing.cases (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT case_links_lifetime
        CHECK (expires_at > created_at AND expires_at <= created_at + interval '24 hours')
);
-- Secondary indexes start with a column other than tenant_id (see 20261127000009).
CREATE INDEX case_links_unused ON routing.case_links (user_id, tenant_id)
    WHERE used_at IS NULL AND revoked_at IS NULL;
CREATE INDEX case_links_expiry ON routing.case_links (expires_at, tenant_id);
SELECT public.mashang_enable_tenant_rls('routing.case_links');

-- Global lookup before the tenant is known: a link token's keyed hash → which tenant,
-- which link. The token itself is never stored.
CREATE TABLE routing.case_link_lookup (
    token_hash bytea PRIMARY KEY,
    link_id uuid NOT NULL CONSTRAINT case_link_lookup_link_key UNIQUE
        REFERENCES routing.case_links (id) ON DELETE CASCADE,
    tenant_id uuid NOT NULL REFERENCES routing.tenants (id)
);
