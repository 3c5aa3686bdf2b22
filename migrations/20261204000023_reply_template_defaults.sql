-- The default reply templates (常用语) in one place, so an administrator who emptied a
-- kind can bring its defaults back (the administration page's 补回默认), and new
-- townships get one more reply and answer. Townships that exist keep their lists.
CREATE FUNCTION routing.default_reply_templates()
RETURNS TABLE (kind text, phrase text, place integer)
LANGUAGE sql IMMUTABLE AS $$
    VALUES
        ('first_call', '您好，我是本网格的网格员，已收到您反映的问题，马上到现场查看。', 1),
        ('first_call', '已电话联系群众，了解了具体情况，约定时间上门处理。', 2),
        ('first_call', '已拨打电话，群众暂未接听，已短信告知，稍后再次联系。', 3),
        ('reply', '您反映的问题已受理，我们会尽快安排处理，处理进展会及时告知您。', 1),
        ('reply', '该问题需要协调相关部门，已报镇综治中心，请您耐心等待。', 2),
        ('reply', '需要群众提供更多情况（如具体位置、照片），已电话告知，等待回复。', 3),
        ('answer', '经现场核实，问题已处理完毕，感谢您的反映和支持。', 1),
        ('answer', '经核实，该问题不属于本网格职责范围，已告知群众向相关部门反映的渠道。', 2),
        ('answer', '已协调村（社区）和相关部门现场处理，问题已解决，已向群众说明处理结果。', 3),
        ('follow_up', '回访群众，问题已解决，对处理结果表示满意。', 1),
        ('follow_up', '回访群众，问题已解决，但对处理时效不太满意，已做好解释。', 2),
        ('follow_up', '回访电话未接通，已短信告知处理结果。', 3)
$$;

-- As before: the defaults for the township of the current transaction, once.
CREATE OR REPLACE FUNCTION routing.add_default_reply_templates() RETURNS void
LANGUAGE sql AS $$
    INSERT INTO routing.reply_templates (tenant_id, kind, text, position)
    SELECT current_setting('app.tenant_id')::uuid, d.kind, d.phrase, d.place
    FROM routing.default_reply_templates() AS d
    WHERE NOT EXISTS (
        SELECT 1 FROM routing.reply_templates r
        WHERE r.tenant_id = current_setting('app.tenant_id')::uuid
    );
$$;
