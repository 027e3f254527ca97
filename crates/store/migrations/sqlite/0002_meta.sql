-- Service-wide values, such as the root-key check value that proves the root key in use is the
-- one this store's material was sealed under.
CREATE TABLE meta (
    name   TEXT PRIMARY KEY NOT NULL,
    value  BLOB NOT NULL
);
