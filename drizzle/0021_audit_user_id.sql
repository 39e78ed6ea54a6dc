CREATE INDEX `audit_events_user_id_idx` ON `audit_events` (json_extract("details", '$.user_id'));
