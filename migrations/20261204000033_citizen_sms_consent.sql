-- A citizen may ask, when reporting, to be texted: the tracking number when the report
-- is received and a request for their rating when the case is solved. Off unless they
-- tick it, and only with a phone number.
ALTER TABLE intake.reports ADD COLUMN sms_consent boolean NOT NULL DEFAULT false;
