-- What the fixture needs a superuser for: the foreign data wrapper and its
-- server (the fixture's foreign table reads public.orders over loopback).
CREATE EXTENSION postgres_fdw;
CREATE SERVER loopback FOREIGN DATA WRAPPER postgres_fdw OPTIONS (dbname 'postgres');
GRANT USAGE ON FOREIGN SERVER loopback TO tusk;
