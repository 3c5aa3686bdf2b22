-- SMS delivery receipts: the providers' reports (a message reached the phone, or not)
-- are kept with the delivery's attempts, as their own kind of entry.
ALTER TABLE notification.delivery_attempts
    DROP CONSTRAINT delivery_attempts_outcome_check,
    ADD CONSTRAINT delivery_attempts_outcome_check
        CHECK (outcome IN ('sent', 'retry', 'failed', 'skipped', 'receipt'));
