-- Revert: Create lists
DROP TABLE lists;
