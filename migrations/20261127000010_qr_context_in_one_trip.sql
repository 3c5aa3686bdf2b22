-- What a scanned QR token leads to, read in one round trip: the token's tenant (a
-- global look-up), then, with the tenant set for the rest of the transaction, the
-- code's node, its path below the township and the tenant's active categories
-- (row-level security in force, as the caller's role). Every landing page and every
-- report reads this; as two transactions it cost six messages, as one statement one.
--
-- The tenant setting is transaction-local: called on its own (an implicit
-- transaction), it ends with the statement. No row: the token is unknown. A row with
-- no node: the code's row is not there (the tenant's rows are, whatever its status).
CREATE FUNCTION intake.qr_context(p_token text)
RETURNS TABLE (
    tenant_id uuid,
    qr_code_id uuid,
    tenant_code text,
    tenant_name text,
    time_zone text,
    tenant_status text,
    contact_phone text,
    node_id uuid,
    node_code text,
    node_name text,
    node_kind text,
    node_active boolean,
    revoked_at timestamptz,
    path text[],
    categories jsonb
)
LANGUAGE plpgsql VOLATILE
AS $$
BEGIN
    SELECT q.tenant_id, q.qr_code_id, t.code, t.name, t.time_zone, t.status, t.contact_phone
      INTO qr_context.tenant_id, qr_context.qr_code_id, qr_context.tenant_code,
           qr_context.tenant_name, qr_context.time_zone, qr_context.tenant_status,
           qr_context.contact_phone
      FROM routing.qr_tokens q JOIN routing.tenants t ON t.id = q.tenant_id
     WHERE q.token = p_token;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    PERFORM set_config('app.tenant_id', qr_context.tenant_id::text, true);
    SELECT n.id, n.code, n.name, n.kind, n.active, c.revoked_at,
           ARRAY(
               WITH RECURSIVE up(id, parent_id, name, kind, depth) AS (
                   SELECT g.id, g.parent_id, g.name, g.kind, 0 FROM routing.grid_nodes g
                    WHERE g.tenant_id = qr_context.tenant_id AND g.id = n.id
                   UNION ALL
                   SELECT p.id, p.parent_id, p.name, p.kind, up.depth + 1 FROM routing.grid_nodes p
                     JOIN up ON p.id = up.parent_id
                    WHERE p.tenant_id = qr_context.tenant_id AND up.depth < 32)
               SELECT up.name FROM up WHERE up.depth > 0 AND up.kind <> 'township' ORDER BY up.depth DESC),
           (SELECT coalesce(jsonb_agg(jsonb_build_object('code', k.code, 'name_zh', k.name_zh,
                       'name_en', k.name_en, 'icon', k.icon) ORDER BY k.position, k.code), '[]'::jsonb)
              FROM routing.categories k WHERE k.tenant_id = qr_context.tenant_id AND k.active)
      INTO qr_context.node_id, qr_context.node_code, qr_context.node_name, qr_context.node_kind,
           qr_context.node_active, qr_context.revoked_at, qr_context.path, qr_context.categories
      FROM routing.qr_codes c
      JOIN routing.grid_nodes n ON n.tenant_id = c.tenant_id AND n.id = c.node_id
     WHERE c.tenant_id = qr_context.tenant_id AND c.id = qr_context.qr_code_id;
    RETURN NEXT;
END;
$$;
