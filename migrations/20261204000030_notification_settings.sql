-- Who is told how, and when.
--
-- A township's settings: how many minutes an unanswered new case waits before its
-- worker gets an SMS as well (NULL: the SMS goes at once), and the default quiet hours
-- during which non-urgent SMS wait until morning.
CREATE TABLE notification.settings (
    tenant_id uuid PRIMARY KEY REFERENCES routing.tenants (id),
    sms_fallback_minutes integer
        CONSTRAINT settings_fallback_check CHECK (sms_fallback_minutes BETWEEN 1 AND 240),
    quiet_from time,
    quiet_until time,
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT settings_quiet_pair CHECK ((quiet_from IS NULL) = (quiet_until IS NULL))
);
SELECT public.mashang_enable_tenant_rls('notification.settings');
SELECT routing.log_changes_of('notification.settings', '{tenant_id}', 'tenant_id', '{updated_at}', '{}');

-- Each person's own: whether they want SMS at all (the in-app notices always come),
-- and their quiet hours (NULL: the township's).
CREATE TABLE notification.person_settings (
    tenant_id uuid NOT NULL REFERENCES routing.tenants (id),
    user_id uuid NOT NULL,
    sms boolean NOT NULL DEFAULT true,
    quiet_from time,
    quiet_until time,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, user_id),
    CONSTRAINT person_settings_quiet_pair CHECK ((quiet_from IS NULL) = (quiet_until IS NULL)),
    CONSTRAINT person_settings_user_fkey FOREIGN KEY (tenant_id, user_id)
        REFERENCES routing.staff_users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX person_settings_user ON notification.person_settings (user_id, tenant_id);
SELECT public.mashang_enable_tenant_rls('notification.person_settings');
