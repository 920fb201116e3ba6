-- Revert: Create items
DROP INDEX items_list;
DROP TABLE items;
