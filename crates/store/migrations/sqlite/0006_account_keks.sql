-- Each account's key-encryption key, sealed under the root key: the account's key material,
-- access-key secrets and session tokens are sealed under it. Deleting the row (with the
-- account) and rotating the root key crypto-shreds the account.
CREATE TABLE account_keks (
    account_id  TEXT PRIMARY KEY NOT NULL,
    sealed      BLOB NOT NULL
);

-- The id of the root key that seals now, set by a root rotation before it seals anything
-- again: a value sealed under another root key (by a process that has not yet read the new
-- one) is refused on insert, so none slips in behind the rotation.
CREATE TABLE sealing_root (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    root_id  BLOB NOT NULL
);
