-- Reply templates (常用语): the township's standard wording for the first call-back,
-- replies, answers and follow-up visits, offered as one-tap phrases in every text
-- field of the staff console. Each township starts with the defaults below and edits
-- its own list.
CREATE TABLE routing.reply_templates (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id uuid NOT NULL REFERENCES routing.tenants (id),
    kind text NOT NULL
        CONSTRAINT reply_templates_kind_check CHECK (kind IN ('first_call', 'reply', 'answer', 'follow_up')),
    text text NOT NULL
        CONSTRAINT reply_templates_text_length CHECK (char_length(text) BETWEEN 1 AND 500),
    position integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now()
);
-- Secondary indexes start with a column other than tenant_id (see 20261127000009).
CREATE INDEX reply_templates_kind ON routing.reply_templates (kind, tenant_id, position);
SELECT public.mashang_enable_tenant_rls('routing.reply_templates');

-- The defaults, for the township of the current transaction (app.tenant_id), once:
-- a township that has any template keeps its own list. Runs as the caller, so
-- row-level security applies.
CREATE FUNCTION routing.add_default_reply_templates() RETURNS void
LANGUAGE sql AS $$
    INSERT INTO routing.reply_templates (tenant_id, kind, text, position)
    SELECT current_setting('app.tenant_id')::uuid, d.kind, d.text, d.position
    FROM (VALUES
        ('first_call', '您好，我是本网格的网格员，已收到您反映的问题，马上到现场查看。', 1),
        ('first_call', '已电话联系群众，了解了具体情况，约定时间上门处理。', 2),
        ('first_call', '已拨打电话，群众暂未接听，已短信告知，稍后再次联系。', 3),
        ('reply', '您反映的问题已受理，我们会尽快安排处理，处理进展会及时告知您。', 1),
        ('reply', '该问题需要协调相关部门，已报镇综治中心，请您耐心等待。', 2),
        ('answer', '经现场核实，问题已处理完毕，感谢您的反映和支持。', 1),
        ('answer', '经核实，该问题不属于本网格职责范围，已告知群众向相关部门反映的渠道。', 2),
        ('follow_up', '回访群众，问题已解决，对处理结果表示满意。', 1),
        ('follow_up', '回访群众，问题已解决，但对处理时效不太满意，已做好解释。', 2),
        ('follow_up', '回访电话未接通，已短信告知处理结果。', 3)
    ) AS d (kind, text, position)
    WHERE NOT EXISTS (
        SELECT 1 FROM routing.reply_templates r
        WHERE r.tenant_id = current_setting('app.tenant_id')::uuid
    );
$$;

-- Every existing township gets them, each under its own tenant setting.
DO $$
DECLARE t uuid;
BEGIN
    FOR t IN SELECT id FROM routing.tenants LOOP
        PERFORM set_config('app.tenant_id', t::text, true);
        PERFORM routing.add_default_reply_templates();
    END LOOP;
    PERFORM set_config('app.tenant_id', '', true);
END $$;
