-- The county's own e-mail: its mail server, set by a county administrator, and the
-- daily digest it sends to county users who gave an address. The county belongs to
-- no township, so these tables have no tenant and no township can see them; only
-- notification's county handlers (a county administrator's request, the digest
-- worker) read them.

-- At most one row: the county's SMTP server. `settings` holds what may be shown
-- (host, port, TLS mode, sender, login name, digest time and zone); the password is
-- sealed with the deployment's key in `secrets_sealed`, bound to this row.
CREATE TABLE notification.county_mail (
    id boolean PRIMARY KEY DEFAULT true CONSTRAINT county_mail_single CHECK (id),
    settings jsonb NOT NULL,
    secrets_sealed bytea NOT NULL,
    active boolean NOT NULL DEFAULT true,
    -- The first digest goes out the day after the server was first set.
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- One row per local day: the claim that makes the county's digest go out once. Its
-- deliveries are inserted in the same transaction.
CREATE TABLE notification.county_digests (
    local_date date PRIMARY KEY,
    idempotency_key text NOT NULL CONSTRAINT county_digests_key_length CHECK (char_length(idempotency_key) <= 100),
    created_at timestamptz NOT NULL DEFAULT now()
);

-- The county's e-mails, one per (digest, county user), sent like a township's
-- deliveries (notification.deliveries): a leased claim, retries with back-off, every
-- attempt's answer kept in `answers`.
CREATE TABLE notification.county_deliveries (
    id uuid PRIMARY KEY,
    idempotency_key text NOT NULL CONSTRAINT county_deliveries_key UNIQUE
        CONSTRAINT county_deliveries_key_length CHECK (char_length(idempotency_key) <= 200),
    user_id uuid,
    kind text NOT NULL,
    message jsonb NOT NULL,
    state text NOT NULL DEFAULT 'queued'
        CONSTRAINT county_deliveries_state_check CHECK (state IN ('queued', 'sent', 'failed', 'dead')),
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    lease_until timestamptz,
    last_error text CONSTRAINT county_deliveries_error_length CHECK (char_length(last_error) <= 2000),
    -- [{"at": …, "outcome": "sent" | "retry" | "failed", "code": 250, "answer": "…"}]
    answers jsonb NOT NULL DEFAULT '[]'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    sent_at timestamptz
);
CREATE INDEX county_deliveries_due ON notification.county_deliveries (next_attempt_at) WHERE state = 'queued';
