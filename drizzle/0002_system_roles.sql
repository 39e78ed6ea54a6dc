-- The built-in roles (src/authz/permissions.ts SYSTEM_ROLES; a test checks they match).
INSERT INTO roles (name, description, scope, is_system, permissions, created_at, updated_at) VALUES
  ('admin', 'Everything, everywhere', 'site', 1, '["admin.access","users.manage","roles.manage","groups.manage","audit.view","projects.create","projects.contribute","projects.manage_all","projects.approve","projects.unstage","projects.delete_any","deployment.manage","banner.manage"]', 0, 0),
  ('researcher', 'Creates projects and works in the projects they own or belong to', 'site', 1, '["projects.create","projects.contribute"]', 0, 0),
  ('observer', 'Reads the projects they belong to; never writes', 'site', 1, '[]', 0, 0),
  ('contributor', 'Own models, uploads and training; reads everything in the project', 'project', 1, '["project.view","models.create","models.upload","models.train","results.view","results.download"]', 0, 0),
  ('read-only', 'Reads the project, its results and metrics', 'project', 1, '["project.view","results.view","results.download"]', 0, 0);
