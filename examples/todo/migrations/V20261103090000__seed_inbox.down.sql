-- Revert: seed the Inbox list
DELETE FROM lists WHERE title = 'Inbox';
