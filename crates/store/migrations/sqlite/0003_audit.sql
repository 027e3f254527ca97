-- The audit trail (see docs/design/audit-chain.md). One chain per account and Region: records
-- in sequence order, each holding the exact JSON bytes that were hashed.
CREATE TABLE audit_records (
    account        TEXT NOT NULL,
    region         TEXT NOT NULL,
    sequence       INTEGER NOT NULL,
    event_time     INTEGER NOT NULL,  -- Unix epoch milliseconds
    event_id       TEXT NOT NULL,
    event_name     TEXT NOT NULL,
    read_only      INTEGER NOT NULL,
    user_name      TEXT,
    access_key_id  TEXT,
    resources      TEXT NOT NULL,     -- JSON array of the key ARNs the record names
    key_a          TEXT,              -- the first two of their key ids, for ResourceName
    key_b          TEXT,              -- lookups (a call names at most two keys: ReEncrypt)
    record         BLOB NOT NULL,
    hash           BLOB NOT NULL,
    PRIMARY KEY (account, region, sequence)
);
-- LookupEvents reads newest first within a time range, or by key. Few indexes on purpose:
-- every one is written again at each commit the requests wait for.
CREATE INDEX audit_records_by_time ON audit_records (account, region, event_time, sequence);
CREATE INDEX audit_records_by_key ON audit_records (account, region, key_a) WHERE key_a IS NOT NULL;
CREATE INDEX audit_records_by_second_key ON audit_records (account, region, key_b) WHERE key_b IS NOT NULL;

-- Signed digests, each the file exactly as exported.
CREATE TABLE audit_digests (
    account      TEXT NOT NULL,
    region       TEXT NOT NULL,
    sequence     INTEGER NOT NULL,
    end_time     INTEGER NOT NULL,  -- Unix epoch milliseconds
    last_record  INTEGER NOT NULL,
    object       TEXT NOT NULL,
    file         BLOB NOT NULL,
    PRIMARY KEY (account, region, sequence)
);

-- What stands for a pruned prefix of a chain (retention).
CREATE TABLE audit_checkpoints (
    account          TEXT NOT NULL,
    region           TEXT NOT NULL,
    digest_sequence  INTEGER NOT NULL,
    record_sequence  INTEGER NOT NULL,
    record_hash      BLOB NOT NULL,
    file             BLOB NOT NULL,
    PRIMARY KEY (account, region)
);
