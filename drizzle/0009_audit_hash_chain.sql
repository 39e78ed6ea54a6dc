ALTER TABLE `audit_events` ADD `hash` text;
--> statement-breakpoint
-- custom
-- The audit log stays append-only; the one UPDATE allowed is setting a NULL hash once (the
-- start-up backfill of events written before the chain existed), with every other column unchanged.
DROP TRIGGER `audit_events_no_update`;
--> statement-breakpoint
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
WHEN NOT (
  OLD.hash IS NULL AND NEW.hash IS NOT NULL
  AND NEW.id IS OLD.id AND NEW.at IS OLD.at AND NEW.event IS OLD.event
  AND NEW.actor_id IS OLD.actor_id AND NEW.actor_email IS OLD.actor_email
  AND NEW.target_type IS OLD.target_type AND NEW.target_id IS OLD.target_id
  AND NEW.ip IS OLD.ip AND NEW.details IS OLD.details
)
BEGIN
  SELECT RAISE(ABORT, 'audit_events is append-only');
END;
