-- Accounts (tenants), their access keys, keys with their versions, and aliases.
-- Timestamps are Unix epoch milliseconds. Secrets and key material are sealed blobs.
CREATE TABLE accounts (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE access_keys (
    id             TEXT PRIMARY KEY NOT NULL,
    account_id     TEXT NOT NULL REFERENCES accounts (id),
    user_name      TEXT NOT NULL,
    sealed_secret  BLOB NOT NULL,
    status         TEXT NOT NULL,
    created_at     INTEGER NOT NULL
);
CREATE INDEX access_keys_by_account ON access_keys (account_id, id);

CREATE TABLE keys (
    account_id           TEXT NOT NULL REFERENCES accounts (id),
    region               TEXT NOT NULL,
    key_id               TEXT NOT NULL,
    description          TEXT NOT NULL,
    key_spec             TEXT NOT NULL,
    key_usage            TEXT NOT NULL,
    origin               TEXT NOT NULL,
    key_state            TEXT NOT NULL,
    created_at           INTEGER NOT NULL,
    deletion_date        INTEGER,
    pending_window_days  INTEGER,
    current_version      TEXT NOT NULL,
    version_count        INTEGER NOT NULL,
    rotation_period_days INTEGER,
    next_rotation_date   INTEGER,
    on_demand_rotations  INTEGER NOT NULL,
    on_demand_started    INTEGER,
    tags                 TEXT NOT NULL,
    policy               TEXT NOT NULL,
    revision             INTEGER NOT NULL,
    PRIMARY KEY (account_id, region, key_id)
);
-- The scheduler's work list: due rotations, requested on-demand rotations, expired deletions.
CREATE INDEX keys_next_rotation ON keys (next_rotation_date) WHERE next_rotation_date IS NOT NULL;
CREATE INDEX keys_on_demand ON keys (on_demand_started) WHERE on_demand_started IS NOT NULL;
CREATE INDEX keys_deletion ON keys (deletion_date) WHERE deletion_date IS NOT NULL;

CREATE TABLE key_versions (
    account_id       TEXT NOT NULL,
    key_id           TEXT NOT NULL,
    version_id       TEXT NOT NULL,
    ordinal          INTEGER NOT NULL,
    sealed_material  BLOB NOT NULL,
    rotation_type    TEXT,
    created_at       INTEGER NOT NULL,
    PRIMARY KEY (account_id, key_id, version_id)
);
CREATE UNIQUE INDEX key_versions_in_order ON key_versions (account_id, key_id, ordinal);

CREATE TABLE aliases (
    account_id     TEXT NOT NULL,
    region         TEXT NOT NULL,
    name           TEXT NOT NULL,
    target_key_id  TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    PRIMARY KEY (account_id, region, name)
);
CREATE INDEX aliases_by_target ON aliases (account_id, region, target_key_id, name);
