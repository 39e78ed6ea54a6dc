-- The admin user table filters by substring across names, username, email and organisation:
-- a trigram full-text index answers that without scanning 100,000 rows.
CREATE VIRTUAL TABLE users_search USING fts5(first_name, last_name, username, email, organization, content='users', content_rowid='id', tokenize='trigram');
--> statement-breakpoint
CREATE TRIGGER users_search_insert AFTER INSERT ON users BEGIN
  INSERT INTO users_search(rowid, first_name, last_name, username, email, organization) VALUES (new.id, new.first_name, new.last_name, coalesce(new.username, ''), new.email, new.organization);
END;
--> statement-breakpoint
CREATE TRIGGER users_search_delete AFTER DELETE ON users BEGIN
  INSERT INTO users_search(users_search, rowid, first_name, last_name, username, email, organization) VALUES ('delete', old.id, old.first_name, old.last_name, coalesce(old.username, ''), old.email, old.organization);
END;
--> statement-breakpoint
CREATE TRIGGER users_search_update AFTER UPDATE OF first_name, last_name, username, email, organization ON users BEGIN
  INSERT INTO users_search(users_search, rowid, first_name, last_name, username, email, organization) VALUES ('delete', old.id, old.first_name, old.last_name, coalesce(old.username, ''), old.email, old.organization);
  INSERT INTO users_search(rowid, first_name, last_name, username, email, organization) VALUES (new.id, new.first_name, new.last_name, coalesce(new.username, ''), new.email, new.organization);
END;
--> statement-breakpoint
-- Sorting the user table by any column, a page at a time.
CREATE INDEX users_first_name_sort ON users (first_name COLLATE NOCASE, id);
--> statement-breakpoint
CREATE INDEX users_last_name_sort ON users (last_name COLLATE NOCASE, id);
--> statement-breakpoint
CREATE INDEX users_username_sort ON users (username COLLATE NOCASE, id);
--> statement-breakpoint
CREATE INDEX users_organization_sort ON users (organization COLLATE NOCASE, id);
--> statement-breakpoint
CREATE INDEX users_role_sort ON users (role, id);
--> statement-breakpoint
CREATE INDEX users_last_sign_in_sort ON users (last_sign_in_at, id);
