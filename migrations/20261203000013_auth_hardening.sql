-- Staff access and citizens' contact details, hardened (issue 10).

-- Sign-in throttling: every attempt is recorded against its address as it begins
-- (under a lock on the address, so concurrent attempts cannot pass the limit); it
-- counts against its login only once the password proved wrong, and a successful
-- sign-in stops the login's earlier failures from slowing it down.
ALTER TABLE routing.signin_failures
    ADD COLUMN login_counts boolean NOT NULL DEFAULT true;

-- Contact details no longer travel on the bus (docs/decisions/0015): routing reads
-- them from intake's row when it shows a case, through this one narrow function.
-- SECURITY INVOKER: the caller's tenant transaction and row-level security apply.
CREATE FUNCTION intake.citizen_contact(p_report uuid)
RETURNS TABLE (contact_name text, contact_phone_sealed bytea)
LANGUAGE sql STABLE SECURITY INVOKER AS $$
    SELECT r.contact_name, r.contact_phone_sealed
      FROM intake.reports r
     WHERE r.tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid
       AND r.id = p_report
$$;

-- Routing's copies of the contact details go: intake's row is the one place they
-- are kept.
ALTER TABLE routing.cases
    DROP COLUMN contact_name,
    DROP COLUMN contact_phone_masked,
    DROP COLUMN contact_phone_sealed;
