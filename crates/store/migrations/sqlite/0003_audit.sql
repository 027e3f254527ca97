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
    record         BLOB NOT NULL,
    hash           BLOB NOT NULL,
    PRIMARY KEY (account, region, sequence)
);
-- LookupEvents reads newest first within a time range.
CREATE INDEX audit_records_by_time ON audit_records (account, region, event_time, sequence);

-- The keys each record names, for LookupEvents' ResourceName (by ARN or key id). Filled by the
-- trigger below, so that appending a batch of records stays one statement (one round trip to
-- the database thread before the fsync every waiting request shares).
CREATE TABLE audit_resources (
    account   TEXT NOT NULL,
    region    TEXT NOT NULL,
    sequence  INTEGER NOT NULL,
    arn       TEXT NOT NULL,
    key_id    TEXT NOT NULL,
    PRIMARY KEY (account, region, sequence, arn)
);
CREATE INDEX audit_resources_by_arn ON audit_resources (account, region, arn);
CREATE INDEX audit_resources_by_key ON audit_resources (account, region, key_id);
CREATE TRIGGER audit_records_resources AFTER INSERT ON audit_records
BEGIN
    INSERT INTO audit_resources (account, region, sequence, arn, key_id)
    SELECT NEW.account, NEW.region, NEW.sequence, value, substr(value, instr(value, ':key/') + 5)
    FROM json_each(NEW.resources);
END;

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
