-- Create lists
CREATE TABLE lists (
    id INTEGER PRIMARY KEY,
    title TEXT NOT NULL UNIQUE
);
