-- The directory, owned by routing: tenants, grid trees, staff, categories, QR codes.

-- Global: the county's list of townships. Not tenant-scoped.
CREATE TABLE routing.tenants (
    id uuid PRIMARY KEY,
    code text NOT NULL CONSTRAINT tenants_code_key UNIQUE
        CONSTRAINT tenants_code_format CHECK (code ~ '^[a-z][a-z0-9]{1,15}$'),
    name text NOT NULL CONSTRAINT tenants_name_length CHECK (char_length(name) BETWEEN 1 AND 100),
    time_zone text NOT NULL DEFAULT 'Asia/Shanghai',
    status text NOT NULL DEFAULT 'active'
        CONSTRAINT tenants_status_check CHECK (status IN ('active', 'suspended')),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE routing.grid_nodes (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES routing.tenants (id),
    parent_id uuid,
    kind text NOT NULL CONSTRAINT grid_nodes_kind_check
        CHECK (kind IN ('township', 'village', 'community', 'grid', 'subgrid', 'office')),
    code text NOT NULL CONSTRAINT grid_nodes_code_length CHECK (char_length(code) BETWEEN 1 AND 64),
    name text NOT NULL CONSTRAINT grid_nodes_name_length CHECK (char_length(name) BETWEEN 1 AND 100),
    active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT grid_nodes_code_key UNIQUE (tenant_id, code),
    CONSTRAINT grid_nodes_tenant_id_key UNIQUE (tenant_id, id),
    CONSTRAINT grid_nodes_parent_fkey FOREIGN KEY (tenant_id, parent_id)
        REFERENCES routing.grid_nodes (tenant_id, id)
);
CREATE INDEX grid_nodes_parent ON routing.grid_nodes (tenant_id, parent_id);
SELECT public.mashang_enable_tenant_rls('routing.grid_nodes');

CREATE TABLE routing.staff_users (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES routing.tenants (id),
    name text NOT NULL CONSTRAINT staff_users_name_length CHECK (char_length(name) BETWEEN 1 AND 50),
    phone text NOT NULL CONSTRAINT staff_users_phone_format CHECK (phone ~ '^1[3-9][0-9]{9}$'),
    active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT staff_users_phone_key UNIQUE (tenant_id, phone),
    CONSTRAINT staff_users_tenant_id_key UNIQUE (tenant_id, id)
);
SELECT public.mashang_enable_tenant_rls('routing.staff_users');

-- A person holds each role at one grid node; one person can hold several.
CREATE TABLE routing.staff_roles (
    tenant_id uuid NOT NULL,
    user_id uuid NOT NULL,
    role text NOT NULL CONSTRAINT staff_roles_role_check
        CHECK (role IN ('grid_worker', 'grid_leader', 'village_head', 'township_centre', 'township_admin')),
    node_id uuid NOT NULL,
    PRIMARY KEY (user_id, role, node_id),
    CONSTRAINT staff_roles_user_fkey FOREIGN KEY (tenant_id, user_id)
        REFERENCES routing.staff_users (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT staff_roles_node_fkey FOREIGN KEY (tenant_id, node_id)
        REFERENCES routing.grid_nodes (tenant_id, id)
);
CREATE INDEX staff_roles_node ON routing.staff_roles (tenant_id, node_id, role);
SELECT public.mashang_enable_tenant_rls('routing.staff_roles');

CREATE TABLE routing.categories (
    tenant_id uuid NOT NULL REFERENCES routing.tenants (id),
    code text NOT NULL CONSTRAINT categories_code_format CHECK (code ~ '^[a-z][a-z0-9_]{0,31}$'),
    name_zh text NOT NULL CONSTRAINT categories_name_zh_length CHECK (char_length(name_zh) BETWEEN 1 AND 30),
    name_en text NOT NULL CONSTRAINT categories_name_en_length CHECK (char_length(name_en) BETWEEN 1 AND 60),
    icon text NOT NULL DEFAULT 'other',
    position integer NOT NULL DEFAULT 0,
    active boolean NOT NULL DEFAULT true,
    PRIMARY KEY (tenant_id, code)
);
SELECT public.mashang_enable_tenant_rls('routing.categories');

CREATE TABLE routing.qr_codes (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL,
    node_id uuid NOT NULL,
    token text NOT NULL CONSTRAINT qr_codes_token_key UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz,
    CONSTRAINT qr_codes_node_fkey FOREIGN KEY (tenant_id, node_id)
        REFERENCES routing.grid_nodes (tenant_id, id)
);
CREATE INDEX qr_codes_node ON routing.qr_codes (tenant_id, node_id);
SELECT public.mashang_enable_tenant_rls('routing.qr_codes');

-- Global lookup before the tenant is known: which tenant and which code a scanned
-- token belongs to. Nothing else is here.
CREATE TABLE routing.qr_tokens (
    token text PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES routing.tenants (id),
    qr_code_id uuid NOT NULL REFERENCES routing.qr_codes (id)
);

SELECT public.mashang_create_outbox_inbox('routing');
