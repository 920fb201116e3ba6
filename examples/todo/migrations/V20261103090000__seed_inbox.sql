-- A data migration: every install starts with an Inbox list
INSERT INTO lists (title) VALUES ('Inbox');
