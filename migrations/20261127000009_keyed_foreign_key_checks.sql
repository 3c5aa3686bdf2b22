-- A foreign-key check looks its row up by the referenced key, here (tenant_id, id).
-- On a table not yet analysed every index estimates one row at the same cost, and the
-- planner took the newest index starting with tenant_id instead of the key, so each
-- check read every report (or case) of the township; each connection keeps that plan
-- until the table is next analysed. Secondary indexes of intake.reports and
-- routing.cases therefore start with a column other than tenant_id (the ids in them
-- are unique across tenants; row-level security still limits every query to one).
--
-- The burst count (reports of one QR code since midnight) finds all three of its
-- conditions in reports_code_day, so no plan combines it with another index.
CREATE INDEX reports_code_day ON intake.reports (qr_code_id, tenant_id, submitted_at);
DROP INDEX intake.reports_qr_day;

CREATE INDEX cases_by_node ON routing.cases (grid_node_id);
DROP INDEX routing.cases_node;
CREATE INDEX cases_by_state ON routing.cases (state, tenant_id);
DROP INDEX routing.cases_state;
CREATE INDEX cases_by_assignee ON routing.cases (assignee_id, state);
DROP INDEX routing.cases_assignee;
