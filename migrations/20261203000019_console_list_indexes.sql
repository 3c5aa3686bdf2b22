-- Two of the staff console's lists read far more than they show.
--
-- The township centre's triage queue lists the cases in triage soonest first. A
-- township has a handful of them, fewer than the page's limit, so walking
-- cases_list_deadline for them reads the whole table; a partial index holds only them.
CREATE INDEX cases_triage ON routing.cases (list_deadline, id) WHERE in_triage;

-- A worker's tabs count their cases by state. With tenant_id in the index (the policy
-- compares it) the count is an index-only scan instead of a visit to every case the
-- worker ever had. It replaces cases_by_assignee, whose columns it starts with.
CREATE INDEX cases_by_assignee_state ON routing.cases (assignee_id, state) INCLUDE (tenant_id);
DROP INDEX routing.cases_by_assignee;
