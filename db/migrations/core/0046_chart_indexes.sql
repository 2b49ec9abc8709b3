-- The staff's charts read a period's rows across every merchant: orders by
-- the hour they were created (pay.Hourly), and applications by when they
-- were first submitted (onboard.Report), which no index reached.
CREATE INDEX orders_created ON orders (created_at);
CREATE INDEX application_events_submitted ON application_events (at) WHERE from_state = 'draft' AND to_state = 'submitted';
