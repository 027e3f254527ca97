-- Grants: a key's permissions handed to a principal. Principals are kept as the ARN the caller
-- wrote and the unique id of the user or role it named then (empty for an account), so that a
-- user made again under the same name is not the grantee. Operations are a JSON list, the
-- constraint JSON ({"EncryptionContextEquals": {...}} or {"EncryptionContextSubset": {...}}).
-- `fingerprint` identifies a grant's parameters, for CreateGrant's idempotent retries by name.
CREATE TABLE grants (
    account_id       TEXT NOT NULL,
    region           TEXT NOT NULL,
    key_id           TEXT NOT NULL,
    grant_id         TEXT NOT NULL,
    name             TEXT NOT NULL,
    grantee          TEXT NOT NULL,
    grantee_id       TEXT NOT NULL,
    retiring         TEXT,
    retiring_id      TEXT,
    operations       TEXT NOT NULL,
    constraints      TEXT,
    issuing_account  TEXT NOT NULL,
    fingerprint      TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    PRIMARY KEY (account_id, key_id, grant_id)
);
-- A caller's grants on a key, looked up when no policy allows it.
CREATE INDEX grants_by_grantee ON grants (account_id, key_id, grantee, grant_id);
-- ListRetirableGrants: across accounts, by the retiring principal.
CREATE INDEX grants_by_retiring ON grants (region, retiring, grant_id) WHERE retiring IS NOT NULL;
-- Retries of a named CreateGrant.
CREATE INDEX grants_by_name ON grants (account_id, key_id, name) WHERE name <> '';
