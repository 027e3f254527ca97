-- IAM identities inside an account: users, roles and their inline policies. Names are unique in
-- an account regardless of case, as in IAM: `name_key` is the lowercased name.
CREATE TABLE iam_users (
    account_id  TEXT NOT NULL REFERENCES accounts (id),
    name_key    TEXT NOT NULL,
    name        TEXT NOT NULL,
    path        TEXT NOT NULL,
    user_id     TEXT NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (account_id, name_key)
);

CREATE TABLE iam_roles (
    account_id           TEXT NOT NULL REFERENCES accounts (id),
    name_key             TEXT NOT NULL,
    name                 TEXT NOT NULL,
    path                 TEXT NOT NULL,
    role_id              TEXT NOT NULL UNIQUE,
    trust_policy         TEXT NOT NULL,
    -- The unique ids of the users and roles the trust policy names (JSON: ARN to id).
    trust_principals     TEXT NOT NULL,
    description          TEXT NOT NULL,
    max_session_seconds  INTEGER NOT NULL,
    created_at           INTEGER NOT NULL,
    PRIMARY KEY (account_id, name_key)
);

CREATE TABLE iam_inline_policies (
    account_id  TEXT NOT NULL,
    owner_kind  TEXT NOT NULL,
    owner_key   TEXT NOT NULL,
    name        TEXT NOT NULL,
    document    TEXT NOT NULL,
    PRIMARY KEY (account_id, owner_kind, owner_key, name)
);

-- The unique ids of the users and roles a key policy names, resolved when it was stored (JSON:
-- ARN to id): a user deleted and made again under its name is not the user the policy named.
-- Policies stored before have none, and name users and roles by ARN alone.
ALTER TABLE keys ADD COLUMN policy_principals TEXT NOT NULL DEFAULT '{}';

-- A ciphertext names its key by id alone; another account may be allowed to use it.
CREATE INDEX keys_by_id ON keys (key_id, region);

-- The upgrade: every account gets its `admin` user, and every user that signed requests before
-- identities existed (the owner of an access key) becomes an IAM user. All of them get the
-- administrator policy, so that every existing access key keeps the rights it had.
INSERT INTO iam_users (account_id, name_key, name, path, user_id, created_at)
SELECT account_id, lower(user_name), MIN(user_name), '/',
       'AIDA' || substr(hex(randomblob(9)), 1, 17), MIN(created_at)
FROM access_keys
GROUP BY account_id, lower(user_name);

INSERT INTO iam_users (account_id, name_key, name, path, user_id, created_at)
SELECT id, 'admin', 'admin', '/', 'AIDA' || substr(hex(randomblob(9)), 1, 17), created_at
FROM accounts
WHERE NOT EXISTS (
    SELECT 1 FROM iam_users u WHERE u.account_id = accounts.id AND u.name_key = 'admin'
);

INSERT INTO iam_inline_policies (account_id, owner_kind, owner_key, name, document)
SELECT account_id, 'user', name_key, 'StrongboxAdministrator',
       '{"Version":"2012-10-17","Statement":[{"Sid":"StrongboxAdministrator","Effect":"Allow","Action":["kms:*","iam:*","sts:*","cloudtrail:LookupEvents"],"Resource":"*"}]}'
FROM iam_users;
