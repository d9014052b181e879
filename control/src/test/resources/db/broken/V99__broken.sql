-- a deliberately failing migration, used to check that startup stops with a clear error
ALTER TABLE no_such_table ADD COLUMN x INTEGER;
