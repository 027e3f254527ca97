#!/usr/bin/env python3
"""End-to-end access-control matrix: who may do what to which key, through boto3.

Starts its own `strongbox serve` on a fresh data directory and a free loopback port, creates a
second account with the admin CLI, builds users, roles, identity policies and keys through the
IAM, STS and KMS APIs, then runs a table of (principal, key, operation) rows. Each row calls the
operation and asserts either success or the exact error code, message and HTTP status that AWS
KMS's policy logic gives (key policies, identity policies, explicit denies, cross-account keys,
role trust policies).

Usage:
    STRONGBOX_BIN=target/debug/strongbox python3 tests/e2e/access_matrix.py

Prints one line per row (PASS or FAIL and the row's name, with what was expected and what came
back under a FAIL), then the last lines of the server log if anything failed, then a summary
line "N passed, M failed". Exits 1 when any row fails (or the setup does), 0 otherwise.
"""

from __future__ import annotations

import atexit
import base64
import functools
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Callable

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

# ---------------------------------------------------------------------------------------------
# Fixed facts of the run

REGION = "us-east-1"
ACCOUNT_A = "111122223333"  # the bootstrap account
ACCOUNT_B = "444455556666"  # created with `strongbox account create`
BOOTSTRAP_ACCESS_KEY_ID = "AKIAMATRIXMATRIX0001"
BOOTSTRAP_SECRET = "matrixSecretAccessKey0123456789abcdefghi"  # 40 characters, like AWS's
assert len(BOOTSTRAP_SECRET) == 40

PLAINTEXT = b"access matrix plaintext"
SESSION_NAME = "matrix-session"
EXTERNAL_ID = "matrix-external-id"

# One client configuration for every call: no retries (a denial must be seen once, as sent),
# and timeouts short enough that a hung server fails the run instead of stalling it.
CLIENT_CONFIG = Config(
    retries={"total_max_attempts": 1, "mode": "standard"},
    connect_timeout=5,
    read_timeout=15,
)

# The server's log is printed from this many last lines when something fails.
LOG_TAIL_LINES = 40


# ---------------------------------------------------------------------------------------------
# The server and the admin CLI


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """One `strongbox serve` on its own temporary data directory, stopped at exit whatever
    happens (the caller's try/finally, and atexit as a second line)."""

    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.work = tempfile.mkdtemp(prefix="strongbox-matrix.")
        self.data_dir = os.path.join(self.work, "data")
        self.log_path = os.path.join(self.work, "server.log")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        atexit.register(self.stop)

    def start(self) -> None:
        """Starts the server and waits (about 10 s at most) for GET /health to say ok."""
        env = dict(os.environ)
        env["STRONGBOX_BOOTSTRAP_ACCESS_KEY_ID"] = BOOTSTRAP_ACCESS_KEY_ID
        env["STRONGBOX_BOOTSTRAP_SECRET_ACCESS_KEY"] = BOOTSTRAP_SECRET
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [
                    self.binary,
                    "serve",
                    "--data-dir",
                    self.data_dir,
                    "--listen",
                    f"127.0.0.1:{self.port}",
                ],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        # No proxy from the environment may stand between us and the loopback server.
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        deadline = time.monotonic() + 10
        last = "no answer"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"strongbox serve exited with status {self.process.returncode}")
            try:
                with opener.open(f"{self.url}/health", timeout=1) as response:
                    body = response.read().decode()
                if json.loads(body) == {"status": "ok"}:
                    return
                last = body
            except (OSError, ValueError) as error:
                last = str(error)
            time.sleep(0.1)
        raise RuntimeError(f"GET /health never answered ok (last: {last})")

    def admin(self, *args: str) -> str:
        """Runs the admin CLI on the live data directory; its stdout."""
        done = subprocess.run(
            [self.binary, *args, "--data-dir", self.data_dir],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"strongbox {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()}"
            )
        return done.stdout

    def log_tail(self) -> str:
        """The last lines of the server's log."""
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as log:
                lines = log.readlines()[-LOG_TAIL_LINES:]
        except OSError:
            return "(no server log)"
        return (
            "--- last lines of the server log ---\n"
            + "".join(lines)
            + "--- end of server log ---"
        )

    def stop(self) -> None:
        """SIGTERM, SIGKILL after 5 s, then the temporary directory goes. Idempotent."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        shutil.rmtree(self.work, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# Principals


@dataclass
class Principal:
    """Someone who calls the server: its label in row names, its ARN as the server writes it
    in messages, its account, and one boto3 client per service."""

    label: str
    arn: str
    account: str
    user_id: str
    kms: Any
    iam: Any
    sts: Any


def make_principal(
    url: str,
    label: str,
    arn: str,
    account: str,
    user_id: str,
    access_key_id: str,
    secret: str,
    token: str | None = None,
) -> Principal:
    """A principal with KMS, IAM and STS clients on the one endpoint."""

    def client(service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=url,
            region_name=REGION,
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret,
            aws_session_token=token,
            config=CLIENT_CONFIG,
        )

    return Principal(
        label, arn, account, user_id, client("kms"), client("iam"), client("sts")
    )


def user_arn(account: str, name: str) -> str:
    return f"arn:aws:iam::{account}:user/{name}"


def root_arn(account: str) -> str:
    return f"arn:aws:iam::{account}:root"


def role_arn(account: str, name: str) -> str:
    return f"arn:aws:iam::{account}:role/{name}"


def alias_arn(account: str, name: str) -> str:
    return f"arn:aws:kms:{REGION}:{account}:{name}"


def key_arn_of(account: str, key_id: str) -> str:
    return f"arn:aws:kms:{REGION}:{account}:key/{key_id}"


def policy(*statements: dict[str, Any]) -> str:
    """A policy document (key, identity or trust) from its statements."""
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(actions: list[str] | str, resource: str = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": actions, "Resource": resource, **extra}


def deny(actions: list[str] | str, resource: str = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": actions, "Resource": resource, **extra}


def aws_principal(*arns: str) -> dict[str, Any]:
    return {"AWS": list(arns) if len(arns) > 1 else arns[0]}


def trust(principal: str, **extra: Any) -> str:
    """A role's trust policy: `principal` (a user's or an account's ARN) may assume it."""
    return policy(
        {"Effect": "Allow", "Principal": aws_principal(principal), "Action": "sts:AssumeRole",
         **extra}
    )


# ---------------------------------------------------------------------------------------------
# The world the matrix runs in


# The principals, by the labels row names use:
#   a-admin     account A's bootstrap user `admin` (administrator policy: kms:*, iam:*, sts:*)
#   a-nopolicy  a user of A with no identity policy
#   a-encdec    a user of A allowed kms:Encrypt and kms:Decrypt on k-default's ARN only
#   a-keyuser   a user of A with no identity policy, named in k-restrict's and k-locked's policies
#   a-denier    a user of A allowed kms:*, with kms:ScheduleKeyDeletion and kms:PutKeyPolicy
#               explicitly denied
#   b-admin     account B's `admin` (administrator policy), its key made with the admin CLI
#   b-user      a user of B allowed kms:Encrypt, kms:Decrypt, kms:DescribeKey and
#               sts:AssumeRole on "*"
#   b-nopolicy  a user of B with no identity policy
#   a-role@b    the session of A's CROSS_ROLE that b-user assumed (the role's inline policy:
#               kms:Encrypt, kms:Decrypt, kms:DescribeKey on "*")
# The users' IAM names, by label (their policies are written in build_world: a-encdec's names
# a key ARN, so it is written once that key exists).
A_USERS = {
    "a-nopolicy": "matrix-nopolicy",
    "a-encdec": "matrix-encdec",
    "a-keyuser": "matrix-keyuser",
    "a-denier": "matrix-denier",
}
B_USERS = {
    "b-user": "matrix-buser",
    "b-nopolicy": "matrix-bnopolicy",
}
CROSS_ROLE = "matrix-cross-role"  # trusts b-user; inline policy: Encrypt, Decrypt, DescribeKey
EXTERNAL_ROLE = "matrix-external-role"  # trusts b-user when sts:ExternalId matches
B_ACCOUNT_ROLE = "matrix-b-account-role"  # trusts account B (its identity policies decide)
A_ACCOUNT_ROLE = "matrix-a-account-role"  # trusts account A; MaxSessionDuration 3600
DIRECT_ROLE = "matrix-direct-role"  # trusts a-keyuser by name
B_DIRECT_ROLE = "matrix-b-direct-role"  # trusts b-nopolicy by name (it has no identity policy)
SHARED_ALIAS = "alias/matrix-shared"  # points at k-default; DeleteAlias rows delete it
CROSS_ALIAS = "alias/matrix-cross"  # points at k-cross


@dataclass
class World:
    """Everything the setup made: principals by label, keys' ARNs and the policy texts they
    were given, a ciphertext under each key, and facts the rows check against."""

    server: Server
    principals: dict[str, Principal] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)  # label -> key ARN
    key_policies: dict[str, str] = field(default_factory=dict)  # label -> policy text
    ciphertexts: dict[str, bytes] = field(default_factory=dict)  # label -> ciphertext blob
    role_ids: dict[str, str] = field(default_factory=dict)  # role name -> RoleId
    locking_policy: str = ""
    session_credentials: dict[str, Any] = field(default_factory=dict)

    def p(self, label: str) -> Principal:
        return self.principals[label]

    def key_id(self, label: str) -> str:
        return self.keys[label].rsplit("/", 1)[1]


def parse_credentials_block(text: str) -> tuple[str, str]:
    """The access key id and secret from an aws credentials-file block."""
    values = dict(
        (name.strip(), value.strip())
        for name, value in (
            line.split("=", 1) for line in text.splitlines() if "=" in line
        )
    )
    return values["aws_access_key_id"], values["aws_secret_access_key"]


def create_user(admin: Principal, name: str, identity_policy: str | None) -> tuple[str, str, str]:
    """An IAM user (with an inline policy when given) and an access key of it, through the IAM
    API as the account's admin: (user id, access key id, secret)."""
    user = admin.iam.create_user(UserName=name)["User"]
    if identity_policy is not None:
        admin.iam.put_user_policy(
            UserName=name, PolicyName="matrix", PolicyDocument=identity_policy
        )
    key = admin.iam.create_access_key(UserName=name)["AccessKey"]
    return user["UserId"], key["AccessKeyId"], key["SecretAccessKey"]


def build_world(server: Server) -> World:
    """Accounts, users, roles, keys, aliases and ciphertexts, through the admin CLI (account B
    and its admin's access key) and the IAM, STS and KMS APIs (everything else)."""
    world = World(server)
    url = server.url
    admin_a = make_principal(
        url, "a-admin", user_arn(ACCOUNT_A, "admin"), ACCOUNT_A, "",
        BOOTSTRAP_ACCESS_KEY_ID, BOOTSTRAP_SECRET,
    )
    admin_a.user_id = admin_a.iam.get_user(UserName="admin")["User"]["UserId"]
    world.principals["a-admin"] = admin_a

    printed = server.admin("account", "create", "--name", "other", "--id", ACCOUNT_B).strip()
    if printed != ACCOUNT_B:
        raise RuntimeError(f"account create printed {printed!r}, not {ACCOUNT_B}")
    block = server.admin("access-key", "create", "--account", ACCOUNT_B)
    if f"[strongbox-{ACCOUNT_B}-admin]" not in block:
        raise RuntimeError(f"access-key create printed no profile header: {block!r}")
    b_key_id, b_secret = parse_credentials_block(block)
    admin_b = make_principal(
        url, "b-admin", user_arn(ACCOUNT_B, "admin"), ACCOUNT_B, "", b_key_id, b_secret
    )
    admin_b.user_id = admin_b.iam.get_user(UserName="admin")["User"]["UserId"]
    world.principals["b-admin"] = admin_b

    # Account A's keys. k-default first: the encdec user's policy names its ARN.
    kms = admin_a.kms
    world.keys["k-default"] = kms.create_key(Description="matrix default policy")[
        "KeyMetadata"
    ]["Arn"]
    world.key_policies["k-default"] = kms.get_key_policy(
        KeyId=world.keys["k-default"], PolicyName="default"
    )["Policy"]

    # Users of both accounts, and the principals they are.
    a_policies: dict[str, str | None] = {
        "a-nopolicy": None,
        "a-encdec": policy(allow(["kms:Encrypt", "kms:Decrypt"], world.keys["k-default"])),
        "a-keyuser": None,
        "a-denier": policy(
            allow("kms:*"), deny(["kms:ScheduleKeyDeletion", "kms:PutKeyPolicy"])
        ),
    }
    b_policies: dict[str, str | None] = {
        "b-user": policy(
            allow(["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey", "sts:AssumeRole"])
        ),
        "b-nopolicy": None,
    }
    for account, admin, users, policies in (
        (ACCOUNT_A, admin_a, A_USERS, a_policies),
        (ACCOUNT_B, admin_b, B_USERS, b_policies),
    ):
        for label, name in users.items():
            user_id, key_id, secret = create_user(admin, name, policies[label])
            world.principals[label] = make_principal(
                url, label, user_arn(account, name), account, user_id, key_id, secret
            )

    keyuser = user_arn(ACCOUNT_A, A_USERS["a-keyuser"])
    encdec = user_arn(ACCOUNT_A, A_USERS["a-encdec"])
    restrictive = policy(
        allow("kms:*", Sid="Admin", Principal=aws_principal(admin_a.arn)),
        allow(
            ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey",
             "kms:ReEncrypt*"],
            Sid="KeyUser", Principal=aws_principal(keyuser),
        ),
        deny("kms:*", Sid="NotEncdec", Principal=aws_principal(encdec)),
    )
    cross = policy(
        allow("kms:*", Sid="AccountA", Principal=aws_principal(root_arn(ACCOUNT_A))),
        allow(
            # Management actions too: the key policy cannot hand those to another account.
            ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey",
             "kms:ReEncrypt*", "kms:GetKeyPolicy", "kms:PutKeyPolicy",
             "kms:ScheduleKeyDeletion", "kms:EnableKey", "kms:TagResource"],
            Sid="AccountB", Principal=aws_principal(root_arn(ACCOUNT_B)),
        ),
    )
    # B's users named one by one, not B's account: each still needs its own identity policy.
    b_named = policy(
        allow("kms:*", Sid="AccountA", Principal=aws_principal(root_arn(ACCOUNT_A))),
        allow(
            ["kms:Encrypt", "kms:DescribeKey"],
            Sid="BUsers",
            Principal=aws_principal(
                user_arn(ACCOUNT_B, B_USERS["b-user"]), user_arn(ACCOUNT_B, B_USERS["b-nopolicy"])
            ),
        ),
    )
    world.locking_policy = policy(
        allow(
            ["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey"],
            Sid="KeyUserOnly", Principal=aws_principal(keyuser),
        )
    )
    for label, text, bypass in (
        ("k-restrict", restrictive, False),
        ("k-cross", cross, False),
        ("k-locked", world.locking_policy, True),
        ("k-b-named", b_named, False),
    ):
        metadata = kms.create_key(
            Description=f"matrix {label}", Policy=text, BypassPolicyLockoutSafetyCheck=bypass
        )["KeyMetadata"]
        world.keys[label] = metadata["Arn"]
        world.key_policies[label] = text

    kms.create_alias(AliasName=SHARED_ALIAS, TargetKeyId=world.keys["k-default"])
    kms.create_alias(AliasName=CROSS_ALIAS, TargetKeyId=world.keys["k-cross"])

    # A ciphertext under each key, made by someone allowed to encrypt with it.
    for label in ("k-default", "k-restrict", "k-cross"):
        world.ciphertexts[label] = kms.encrypt(KeyId=world.keys[label], Plaintext=PLAINTEXT)[
            "CiphertextBlob"
        ]
    world.ciphertexts["k-locked"] = world.p("a-keyuser").kms.encrypt(
        KeyId=world.keys["k-locked"], Plaintext=PLAINTEXT
    )["CiphertextBlob"]

    # Roles of account A.
    b_user = user_arn(ACCOUNT_B, B_USERS["b-user"])
    # Each role: its trust policy and MaxSessionDuration (None: the default).
    roles: dict[str, tuple[str, int | None]] = {
        CROSS_ROLE: (trust(b_user), None),
        EXTERNAL_ROLE: (
            trust(b_user, Condition={"StringEquals": {"sts:ExternalId": EXTERNAL_ID}}),
            None,
        ),
        B_ACCOUNT_ROLE: (trust(root_arn(ACCOUNT_B)), None),
        A_ACCOUNT_ROLE: (trust(root_arn(ACCOUNT_A)), 3600),
        DIRECT_ROLE: (trust(keyuser), None),
        B_DIRECT_ROLE: (trust(user_arn(ACCOUNT_B, B_USERS["b-nopolicy"])), None),
    }
    for name, (document, max_seconds) in roles.items():
        arguments: dict[str, Any] = {"RoleName": name, "AssumeRolePolicyDocument": document}
        if max_seconds is not None:
            arguments["MaxSessionDuration"] = max_seconds
        world.role_ids[name] = admin_a.iam.create_role(**arguments)["Role"]["RoleId"]
    admin_a.iam.put_role_policy(
        RoleName=CROSS_ROLE,
        PolicyName="matrix",
        PolicyDocument=policy(allow(["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey"])),
    )

    # The session of A's cross role, assumed by B's user.
    assumed = world.p("b-user").sts.assume_role(
        RoleArn=role_arn(ACCOUNT_A, CROSS_ROLE), RoleSessionName=SESSION_NAME
    )
    credentials = assumed["Credentials"]
    world.session_credentials = credentials
    world.principals["a-role@b"] = make_principal(
        url,
        "a-role@b",
        f"arn:aws:sts::{ACCOUNT_A}:assumed-role/{CROSS_ROLE}/{SESSION_NAME}",
        ACCOUNT_A,
        f"{world.role_ids[CROSS_ROLE]}:{SESSION_NAME}",
        credentials["AccessKeyId"],
        credentials["SecretAccessKey"],
        credentials["SessionToken"],
    )
    return world


# ---------------------------------------------------------------------------------------------
# Expectations


@dataclass(frozen=True)
class Expect:
    """What a row must get back: success (code None) or an error's code, exact message and
    HTTP status."""

    code: str | None = None
    message: str = ""
    status: int = 200

    def describe(self) -> str:
        if self.code is None:
            return "success"
        return f"{self.code} (HTTP {self.status}): {self.message}"


OK = Expect()

# The reasons an AccessDeniedException gives, by the short names the matrix uses.
REASONS = {
    "res": "because no resource-based policy allows the {action} action",
    "id": "because no identity-based policy allows the {action} action",
    "Dres": "with an explicit deny in a resource-based policy",
    "Did": "with an explicit deny in an identity-based policy",
}


def kms_denied(caller: Principal, action: str, resource: str, reason: str) -> Expect:
    """KMS's AccessDeniedException (HTTP 400) for `reason` (a key of REASONS)."""
    because = REASONS[reason].format(action=action)
    return Expect(
        "AccessDeniedException",
        f"User: {caller.arn} is not authorized to perform: {action} on resource: {resource} "
        + because,
        400,
    )


def iam_denied(caller: Principal, action: str, resource: str) -> Expect:
    """IAM's AccessDenied (HTTP 403) when no identity policy allows."""
    return Expect(
        "AccessDenied",
        f"User: {caller.arn} is not authorized to perform: {action} on resource: {resource} "
        f"because no identity-based policy allows the {action} action",
        403,
    )


def sts_denied(caller: Principal, role: str) -> Expect:
    """STS's AccessDenied (HTTP 403) for AssumeRole of a role the caller may not assume."""
    return Expect(
        "AccessDenied",
        f"User: {caller.arn} is not authorized to perform: sts:AssumeRole on resource: {role}",
        403,
    )


def not_found(message: str) -> Expect:
    return Expect("NotFoundException", message, 400)


def key_not_found(arn: str) -> Expect:
    return not_found(f"Key '{arn}' does not exist")


def malformed_policy(message: str) -> Expect:
    return Expect("MalformedPolicyDocumentException", message, 400)


LOCKOUT = "The new key policy will not allow you to update the key policy in the future."
INVALID_PRINCIPAL = "Policy contains a statement with one or more invalid principals."


# ---------------------------------------------------------------------------------------------
# Rows


# A check of a successful answer: None when it is right, else what is wrong.
Check = Callable[[Any], "str | None"]


@dataclass
class Row:
    """One line of the matrix: a named call and what it must get back.

    `check` looks further at a successful answer; `cleanup` undoes what a successful call
    changed (run only after a success, so later rows see the same world)."""

    name: str
    call: Callable[[], Any]
    expect: Expect
    check: Check | None = None
    cleanup: Callable[[], None] | None = None
    why: str = ""  # the AWS behaviour a row stands for, when the table does not say it


def run_row(row: Row) -> list[str]:
    """Runs a row; the lines explaining its failure, or [] when it passed."""
    try:
        answer = row.call()
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code")
        message = error.response.get("Error", {}).get("Message", "")
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        actual = Expect(code, message, status)
        if actual == row.expect:
            return []
        return [f"expected: {row.expect.describe()}", f"actual:   {actual.describe()}"]
    except Exception as error:  # noqa: BLE001 - a row's own breakage is that row's failure
        return [f"expected: {row.expect.describe()}", f"raised:   {error!r}"]
    if row.expect.code is not None:
        return [f"expected: {row.expect.describe()}", "actual:   success"]
    problem = row.check(answer) if row.check else None
    if row.cleanup:
        try:
            row.cleanup()
        except Exception as error:  # noqa: BLE001
            problem = (problem + "; " if problem else "") + f"cleanup failed: {error!r}"
    return [f"check: {problem}"] if problem else []


def expect_equal(what: str, expected: Any, actual: Any) -> str | None:
    return None if expected == actual else f"{what}: expected {expected!r}, got {actual!r}"


# The KMS operations of the key matrix, in the order of the table's columns, with the IAM
# action a denial names.
KEY_OPS = {
    "Encrypt": "kms:Encrypt",
    "Decrypt": "kms:Decrypt",
    "GenerateDataKey": "kms:GenerateDataKey",
    "DescribeKey": "kms:DescribeKey",
    "ReEncrypt": "kms:ReEncryptFrom",
    "GetKeyPolicy": "kms:GetKeyPolicy",
    "PutKeyPolicy": "kms:PutKeyPolicy",
    "ScheduleKeyDeletion": "kms:ScheduleKeyDeletion",
}

# Who gets what, per (principal, key), one cell per KEY_OPS column. Every key is named by its
# ARN. ok: success; res, id, Dres, Did: AccessDeniedException for that reason (REASONS);
# nf: NotFoundException "Key '<arn>' does not exist" (another account's key, for an operation
# that never crosses accounts).
#
# The keys, all in account A: k-default (default policy: account A's root, kms:*);
# k-restrict (a-admin kms:*, a-keyuser the cryptographic actions and DescribeKey, an explicit
# deny of a-encdec); k-cross (account A's root kms:*, account B's root the cryptographic
# actions, DescribeKey and management actions); k-locked (a-keyuser Encrypt, Decrypt,
# DescribeKey only: created with the lockout check bypassed).
KEY_MATRIX: dict[tuple[str, str], str] = {
    #                           Enc   Dec   GDK   Desc  ReEnc GetP  PutP  Sched
    ("a-admin", "k-default"):  "ok    ok    ok    ok    ok    ok    ok    ok",
    ("a-admin", "k-restrict"): "ok    ok    ok    ok    ok    ok    ok    ok",
    ("a-admin", "k-cross"):    "ok    ok    ok    ok    ok    ok    ok    ok",
    ("a-admin", "k-locked"):   "res   res   res   res   res   res   res   res",
    ("a-nopolicy", "k-default"):  "id    id    id    id    id    id    id    id",
    ("a-nopolicy", "k-restrict"): "res   res   res   res   res   res   res   res",
    ("a-nopolicy", "k-cross"):    "id    id    id    id    id    id    id    id",
    ("a-nopolicy", "k-locked"):   "res   res   res   res   res   res   res   res",
    ("a-encdec", "k-default"):  "ok    ok    id    id    id    id    id    id",
    ("a-encdec", "k-restrict"): "Dres  Dres  Dres  Dres  Dres  Dres  Dres  Dres",
    ("a-encdec", "k-cross"):    "id    id    id    id    id    id    id    id",
    ("a-encdec", "k-locked"):   "res   res   res   res   res   res   res   res",
    ("a-keyuser", "k-default"):  "id    id    id    id    id    id    id    id",
    ("a-keyuser", "k-restrict"): "ok    ok    ok    ok    ok    res   res   res",
    ("a-keyuser", "k-cross"):    "id    id    id    id    id    id    id    id",
    ("a-keyuser", "k-locked"):   "ok    ok    res   ok    res   res   res   res",
    ("a-denier", "k-default"):  "ok    ok    ok    ok    ok    ok    Did   Did",
    ("a-denier", "k-restrict"): "res   res   res   res   res   res   Did   Did",
    ("a-denier", "k-cross"):    "ok    ok    ok    ok    ok    ok    Did   Did",
    ("a-denier", "k-locked"):   "res   res   res   res   res   res   Did   Did",
    ("b-admin", "k-default"):  "res   res   res   res   res   nf    nf    nf",
    ("b-admin", "k-restrict"): "res   res   res   res   res   nf    nf    nf",
    ("b-admin", "k-cross"):    "ok    ok    ok    ok    ok    nf    nf    nf",
    ("b-admin", "k-locked"):   "res   res   res   res   res   nf    nf    nf",
    ("b-user", "k-default"):  "res   res   res   res   res   nf    nf    nf",
    ("b-user", "k-restrict"): "res   res   res   res   res   nf    nf    nf",
    ("b-user", "k-cross"):    "ok    ok    id    ok    id    nf    nf    nf",
    ("b-user", "k-locked"):   "res   res   res   res   res   nf    nf    nf",
    ("a-role@b", "k-default"):  "ok    ok    id    ok    id    id    id    id",
    ("a-role@b", "k-restrict"): "res   res   res   res   res   res   res   res",
    ("a-role@b", "k-cross"):    "ok    ok    id    ok    id    id    id    id",
    ("a-role@b", "k-locked"):   "res   res   res   res   res   res   res   res",
}


def key_op_call(world: World, who: Principal, op: str, key: str) -> tuple[Callable[[], Any], Check]:
    """The call of `op` on `key` (by its ARN) as `who`, and the check of its success."""
    arn = world.keys[key]
    kms = who.kms
    ciphertext = world.ciphertexts[key]
    if op == "Encrypt":
        return (
            lambda: kms.encrypt(KeyId=arn, Plaintext=PLAINTEXT),
            lambda answer: expect_equal("KeyId", arn, answer["KeyId"]),
        )
    if op == "Decrypt":
        return (
            lambda: kms.decrypt(CiphertextBlob=ciphertext, KeyId=arn),
            lambda answer: expect_equal("Plaintext", PLAINTEXT, answer["Plaintext"])
            or expect_equal("KeyId", arn, answer["KeyId"]),
        )
    if op == "GenerateDataKey":
        return (
            lambda: kms.generate_data_key(KeyId=arn, KeySpec="AES_256"),
            lambda answer: expect_equal("Plaintext length", 32, len(answer["Plaintext"])),
        )
    if op == "DescribeKey":
        return (
            lambda: kms.describe_key(KeyId=arn),
            lambda answer: expect_equal("Arn", arn, answer["KeyMetadata"]["Arn"])
            or expect_equal("AWSAccountId", ACCOUNT_A, answer["KeyMetadata"]["AWSAccountId"]),
        )
    if op == "ReEncrypt":
        return (
            lambda: kms.re_encrypt(
                CiphertextBlob=ciphertext, SourceKeyId=arn, DestinationKeyId=arn
            ),
            lambda answer: expect_equal("SourceKeyId", arn, answer["SourceKeyId"])
            or expect_equal("KeyId", arn, answer["KeyId"]),
        )
    if op == "GetKeyPolicy":
        return (
            lambda: kms.get_key_policy(KeyId=arn, PolicyName="default"),
            lambda answer: expect_equal(
                "Policy", json.loads(world.key_policies[key]), json.loads(answer["Policy"])
            ),
        )
    if op == "PutKeyPolicy":
        # The key's own policy, put back unchanged: success changes nothing.
        def check_put(_answer: Any) -> str | None:
            now = world.p("a-admin").kms.get_key_policy(KeyId=arn, PolicyName="default")
            return expect_equal(
                "policy after put", json.loads(world.key_policies[key]), json.loads(now["Policy"])
            )

        return (
            lambda: kms.put_key_policy(
                KeyId=arn, PolicyName="default", Policy=world.key_policies[key]
            ),
            check_put,
        )
    if op == "ScheduleKeyDeletion":
        return (
            lambda: kms.schedule_key_deletion(KeyId=arn, PendingWindowInDays=7),
            lambda answer: expect_equal("KeyState", "PendingDeletion", answer["KeyState"]),
        )
    raise ValueError(op)


def undo_deletion(world: World, key: str) -> None:
    """CancelKeyDeletion (which leaves the key Disabled, as in AWS) and EnableKey, as a-admin."""
    kms = world.p("a-admin").kms
    arn = world.keys[key]
    kms.cancel_key_deletion(KeyId=arn)
    state = kms.describe_key(KeyId=arn)["KeyMetadata"]["KeyState"]
    if state != "Disabled":
        raise AssertionError(f"after CancelKeyDeletion the key is {state}, not Disabled")
    kms.enable_key(KeyId=arn)


def key_matrix_rows(world: World) -> list[Row]:
    """One row per cell of KEY_MATRIX."""
    rows = []
    for (label, key), cells in KEY_MATRIX.items():
        outcomes = cells.split()
        assert len(outcomes) == len(KEY_OPS), (label, key)
        who = world.p(label)
        arn = world.keys[key]
        for (op, action), outcome in zip(KEY_OPS.items(), outcomes):
            call, check = key_op_call(world, who, op, key)
            if outcome == "ok":
                expect = OK
            elif outcome == "nf":
                expect = key_not_found(arn)
            else:
                expect = kms_denied(who, action, arn, outcome)
            cleanup = None
            if op == "ScheduleKeyDeletion" and outcome == "ok":
                cleanup = functools.partial(undo_deletion, world, key)
            rows.append(Row(f"{label} {op} {key}", call, expect, check, cleanup))
    return rows


# Actions on no key and IAM/STS actions, per principal: ok, or the denial each table gives.
#                   CreateKey ListKeys GenerateRandom CreateAlias DeleteAlias ListUsers
ACCOUNT_MATRIX: dict[str, str] = {
    "a-admin":    "ok    ok    ok    ok    ok    ok",
    "a-nopolicy": "id    id    id    id    id    id",
    "a-encdec":   "id    id    id    id    id    id",
    "a-keyuser":  "id    id    id    id    id    id",
    "a-denier":   "ok    ok    ok    ok    ok    id",
    "b-admin":    "ok    ok    ok    nf    nf    ok",
    "b-user":     "id    id    id    id    id    id",
    "a-role@b":   "id    id    id    id    id    id",
}


def account_matrix_rows(world: World) -> list[Row]:
    """CreateKey, ListKeys, GenerateRandom (on resource *), CreateAlias and DeleteAlias (the
    alias side decided by identity policies on the alias's ARN; the key side by the key), and
    IAM ListUsers, for every principal."""
    rows = []
    default_arn = world.keys["k-default"]
    for label, cells in ACCOUNT_MATRIX.items():
        who = world.p(label)
        create, list_keys, random, create_alias, delete_alias, list_users = cells.split()
        own_alias = f"alias/matrix-{label.replace('@', '-at-')}"

        def created_key_check(answer: Any, who: Principal = who) -> str | None:
            return expect_equal("AWSAccountId", who.account, answer["KeyMetadata"]["AWSAccountId"])

        rows.append(Row(
            f"{label} CreateKey",
            lambda who=who: who.kms.create_key(Description="matrix created"),
            OK if create == "ok" else kms_denied(who, "kms:CreateKey", "*", create),
            created_key_check,
        ))

        def list_keys_check(answer: Any, who: Principal = who) -> str | None:
            # The CreateKey row before made sure the caller's account has a key.
            accounts = {k["KeyArn"].split(":")[4] for k in answer["Keys"]}
            return expect_equal("accounts of the listed keys", {who.account}, accounts)

        rows.append(Row(
            f"{label} ListKeys",
            lambda who=who: who.kms.list_keys(),
            OK if list_keys == "ok" else kms_denied(who, "kms:ListKeys", "*", list_keys),
            list_keys_check,
        ))
        rows.append(Row(
            f"{label} GenerateRandom",
            lambda who=who: who.kms.generate_random(NumberOfBytes=16),
            OK if random == "ok" else kms_denied(who, "kms:GenerateRandom", "*", random),
            lambda answer: expect_equal("length", 16, len(answer["Plaintext"])),
        ))

        if create_alias == "ok":
            expect = OK
        elif create_alias == "nf":
            expect = key_not_found(default_arn)
        else:
            expect = kms_denied(
                who, "kms:CreateAlias", alias_arn(who.account, own_alias), create_alias
            )
        rows.append(Row(
            f"{label} CreateAlias k-default",
            lambda who=who, name=own_alias: who.kms.create_alias(
                AliasName=name, TargetKeyId=default_arn
            ),
            expect,
            cleanup=lambda who=who, name=own_alias: who.kms.delete_alias(AliasName=name),
        ))

        if delete_alias == "ok":
            expect = OK
        elif delete_alias == "nf":
            expect = not_found(f"Alias {alias_arn(who.account, SHARED_ALIAS)} is not found.")
        else:
            expect = kms_denied(
                who, "kms:DeleteAlias", alias_arn(who.account, SHARED_ALIAS), delete_alias
            )
        rows.append(Row(
            f"{label} DeleteAlias {SHARED_ALIAS}",
            lambda who=who: who.kms.delete_alias(AliasName=SHARED_ALIAS),
            expect,
            cleanup=lambda: world.p("a-admin").kms.create_alias(
                AliasName=SHARED_ALIAS, TargetKeyId=default_arn
            ),
        ))

        def users_check(answer: Any, who: Principal = who) -> str | None:
            arns = {user["Arn"] for user in answer["Users"]}
            names = A_USERS if who.account == ACCOUNT_A else B_USERS
            expected = {user_arn(who.account, "admin")} | {
                user_arn(who.account, name) for name in names.values()
            }
            return expect_equal("users listed", expected, arns)

        rows.append(Row(
            f"{label} iam ListUsers",
            lambda who=who: who.iam.list_users(),
            OK if list_users == "ok"
            else iam_denied(who, "iam:ListUsers", f"arn:aws:iam::{who.account}:user/*"),
            users_check,
        ))

        def identity_check(answer: Any, who: Principal = who) -> str | None:
            return (
                expect_equal("Arn", who.arn, answer["Arn"])
                or expect_equal("Account", who.account, answer["Account"])
                or expect_equal("UserId", who.user_id, answer["UserId"])
            )

        rows.append(Row(
            f"{label} sts GetCallerIdentity",
            lambda who=who: who.sts.get_caller_identity(),
            OK,
            identity_check,
        ))
    return rows


def assume(who: Principal, role: str, **extra: Any) -> Callable[[], Any]:
    """AssumeRole of one of account A's roles as `who`."""
    return lambda: who.sts.assume_role(
        RoleArn=role_arn(ACCOUNT_A, role), RoleSessionName="matrix-row", **extra
    )


def session_check(role: str) -> Check:
    """A successful AssumeRole: ASIA credentials with a token, and the session's ARN."""

    def check(answer: Any) -> str | None:
        credentials = answer["Credentials"]
        if not re.fullmatch(r"ASIA[A-Z0-9]{16}", credentials["AccessKeyId"]):
            return f"AccessKeyId {credentials['AccessKeyId']!r} is not ASIA and 16 characters"
        if not credentials.get("SessionToken"):
            return "no SessionToken"
        return expect_equal(
            "AssumedRoleUser.Arn",
            f"arn:aws:sts::{ACCOUNT_A}:assumed-role/{role}/matrix-row",
            answer["AssumedRoleUser"]["Arn"],
        )

    return check


def sts_rows(world: World) -> list[Row]:
    """AssumeRole: trust policies naming a user, an account or nobody the caller is, the
    ExternalId condition, identity policies for cross-account callers, role chaining, the
    role's MaxSessionDuration; and the session's credentials themselves."""
    p = world.p
    rows = []
    for label in ("a-admin", "a-nopolicy", "a-keyuser", "b-admin", "b-nopolicy", "a-role@b"):
        rows.append(Row(
            f"{label} AssumeRole {CROSS_ROLE}",
            assume(p(label), CROSS_ROLE),
            sts_denied(p(label), role_arn(ACCOUNT_A, CROSS_ROLE)),
        ))
    rows.append(Row(
        f"b-user AssumeRole {CROSS_ROLE}",
        assume(p("b-user"), CROSS_ROLE),
        OK,
        session_check(CROSS_ROLE),
    ))
    external = role_arn(ACCOUNT_A, EXTERNAL_ROLE)
    rows += [
        Row(f"b-user AssumeRole {EXTERNAL_ROLE} without ExternalId",
            assume(p("b-user"), EXTERNAL_ROLE), sts_denied(p("b-user"), external)),
        Row(f"b-user AssumeRole {EXTERNAL_ROLE} wrong ExternalId",
            assume(p("b-user"), EXTERNAL_ROLE, ExternalId="not-it"),
            sts_denied(p("b-user"), external)),
        Row(f"b-user AssumeRole {EXTERNAL_ROLE} right ExternalId",
            assume(p("b-user"), EXTERNAL_ROLE, ExternalId=EXTERNAL_ID),
            OK, session_check(EXTERNAL_ROLE)),
        Row(f"b-admin AssumeRole {EXTERNAL_ROLE} right ExternalId",
            assume(p("b-admin"), EXTERNAL_ROLE, ExternalId=EXTERNAL_ID),
            sts_denied(p("b-admin"), external)),
    ]
    # A trust policy naming account B hands the decision to B's identity policies.
    b_account = role_arn(ACCOUNT_A, B_ACCOUNT_ROLE)
    rows += [
        Row(f"b-admin AssumeRole {B_ACCOUNT_ROLE}", assume(p("b-admin"), B_ACCOUNT_ROLE),
            OK, session_check(B_ACCOUNT_ROLE)),
        Row(f"b-user AssumeRole {B_ACCOUNT_ROLE}", assume(p("b-user"), B_ACCOUNT_ROLE),
            OK, session_check(B_ACCOUNT_ROLE)),
        Row(f"b-nopolicy AssumeRole {B_ACCOUNT_ROLE}", assume(p("b-nopolicy"), B_ACCOUNT_ROLE),
            sts_denied(p("b-nopolicy"), b_account)),
        Row(f"a-admin AssumeRole {B_ACCOUNT_ROLE}", assume(p("a-admin"), B_ACCOUNT_ROLE),
            sts_denied(p("a-admin"), b_account)),
    ]
    # Same account: naming the account needs an identity policy; naming the user does not.
    a_account = role_arn(ACCOUNT_A, A_ACCOUNT_ROLE)
    rows += [
        Row(f"a-admin AssumeRole {A_ACCOUNT_ROLE}", assume(p("a-admin"), A_ACCOUNT_ROLE),
            OK, session_check(A_ACCOUNT_ROLE)),
        Row(f"a-nopolicy AssumeRole {A_ACCOUNT_ROLE}", assume(p("a-nopolicy"), A_ACCOUNT_ROLE),
            sts_denied(p("a-nopolicy"), a_account)),
        Row(f"a-admin AssumeRole {A_ACCOUNT_ROLE} beyond MaxSessionDuration",
            assume(p("a-admin"), A_ACCOUNT_ROLE, DurationSeconds=7200),
            Expect("ValidationError", "The requested DurationSeconds exceeds the "
                   "MaxSessionDuration set for this role.", 400)),
        Row(f"a-keyuser AssumeRole {DIRECT_ROLE}", assume(p("a-keyuser"), DIRECT_ROLE),
            OK, session_check(DIRECT_ROLE)),
        Row(f"a-nopolicy AssumeRole {DIRECT_ROLE}", assume(p("a-nopolicy"), DIRECT_ROLE),
            sts_denied(p("a-nopolicy"), role_arn(ACCOUNT_A, DIRECT_ROLE))),
        # Across accounts, being named in the trust policy is not enough without sts:AssumeRole
        # in the caller's own identity policies.
        Row(f"b-nopolicy AssumeRole {B_DIRECT_ROLE}", assume(p("b-nopolicy"), B_DIRECT_ROLE),
            sts_denied(p("b-nopolicy"), role_arn(ACCOUNT_A, B_DIRECT_ROLE))),
        Row(f"b-user AssumeRole {B_DIRECT_ROLE}", assume(p("b-user"), B_DIRECT_ROLE),
            sts_denied(p("b-user"), role_arn(ACCOUNT_A, B_DIRECT_ROLE))),
    ]

    # The session's credentials work only with their own session token.
    credentials = world.session_credentials
    forged = make_principal(
        world.server.url, "a-role@b-forged", "", ACCOUNT_A, "",
        credentials["AccessKeyId"], credentials["SecretAccessKey"],
        base64.b64encode(b"not a session token of this server").decode(),
    )
    tokenless = make_principal(
        world.server.url, "a-role@b-tokenless", "", ACCOUNT_A, "",
        credentials["AccessKeyId"], credentials["SecretAccessKey"],
    )
    invalid_token = "The security token included in the request is invalid."
    rows += [
        Row("a-role@b with a forged session token sts GetCallerIdentity",
            lambda: forged.sts.get_caller_identity(),
            Expect("InvalidClientTokenId", invalid_token, 403)),
        Row("a-role@b with a forged session token Encrypt k-default",
            lambda: forged.kms.encrypt(KeyId=world.keys["k-default"], Plaintext=PLAINTEXT),
            Expect("UnrecognizedClientException", invalid_token, 400)),
        Row("a-role@b without its session token sts GetCallerIdentity",
            lambda: tokenless.sts.get_caller_identity(),
            Expect("InvalidClientTokenId", invalid_token, 403)),
    ]
    return rows


def extra_kms_rows(world: World) -> list[Row]:
    """The lockout safety check, principals that must exist, how another account's keys are
    named (bare id, alias name, alias ARN, key ARN), management operations across accounts,
    Decrypt without a KeyId, and IAM writes denied."""
    p = world.p
    admin = p("a-admin")
    b_admin = p("b-admin")
    cross_arn = world.keys["k-cross"]
    cross_id = world.key_id("k-cross")
    missing_principal = policy(
        allow("kms:*", Principal=aws_principal(admin.arn)),
        allow("kms:Encrypt", Principal=aws_principal(user_arn(ACCOUNT_A, "matrix-nobody"))),
    )
    b_named_arn = world.keys["k-b-named"]
    aws_default_policy = {
        "Version": "2012-10-17",
        "Id": "key-default-1",
        "Statement": [{
            "Sid": "Enable IAM User Permissions",
            "Effect": "Allow",
            "Principal": {"AWS": root_arn(ACCOUNT_A)},
            "Action": "kms:*",
            "Resource": "*",
        }],
    }
    rows = [
        Row("a-admin GetKeyPolicy k-default is AWS's default policy",
            lambda: admin.kms.get_key_policy(KeyId=world.keys["k-default"],
                                             PolicyName="default"),
            OK,
            lambda answer: expect_equal("policy", aws_default_policy,
                                        json.loads(answer["Policy"]))),
        # A key policy naming another account's users, not the account.
        Row("b-user Encrypt k-b-named",
            lambda: p("b-user").kms.encrypt(KeyId=b_named_arn, Plaintext=PLAINTEXT),
            OK),
        Row("b-user DescribeKey k-b-named",
            lambda: p("b-user").kms.describe_key(KeyId=b_named_arn),
            OK),
        Row("b-user GenerateDataKey k-b-named",
            lambda: p("b-user").kms.generate_data_key(KeyId=b_named_arn, KeySpec="AES_256"),
            kms_denied(p("b-user"), "kms:GenerateDataKey", b_named_arn, "res")),
        Row("b-nopolicy Encrypt k-b-named",
            lambda: p("b-nopolicy").kms.encrypt(KeyId=b_named_arn, Plaintext=PLAINTEXT),
            kms_denied(p("b-nopolicy"), "kms:Encrypt", b_named_arn, "id")),
        Row("b-admin Encrypt k-b-named",
            lambda: b_admin.kms.encrypt(KeyId=b_named_arn, Plaintext=PLAINTEXT),
            kms_denied(b_admin, "kms:Encrypt", b_named_arn, "res")),
        Row("a-nopolicy Encrypt k-b-named",
            lambda: p("a-nopolicy").kms.encrypt(KeyId=b_named_arn, Plaintext=PLAINTEXT),
            kms_denied(p("a-nopolicy"), "kms:Encrypt", b_named_arn, "id")),
        Row("a-admin CreateKey locking policy without bypass",
            lambda: admin.kms.create_key(Policy=world.locking_policy),
            malformed_policy(LOCKOUT)),
        Row("a-admin CreateKey locking policy with bypass",
            lambda: admin.kms.create_key(
                Policy=world.locking_policy, BypassPolicyLockoutSafetyCheck=True),
            OK),
        Row("a-admin CreateKey policy naming a missing user",
            lambda: admin.kms.create_key(Policy=missing_principal),
            malformed_policy(INVALID_PRINCIPAL)),
        Row("a-admin PutKeyPolicy locking policy without bypass k-default",
            lambda: admin.kms.put_key_policy(
                KeyId=world.keys["k-default"], PolicyName="default",
                Policy=world.locking_policy),
            malformed_policy(LOCKOUT)),
        Row("a-admin PutKeyPolicy policy naming a missing user k-default",
            lambda: admin.kms.put_key_policy(
                KeyId=world.keys["k-default"], PolicyName="default",
                Policy=missing_principal),
            malformed_policy(INVALID_PRINCIPAL)),
        Row("a-keyuser Encrypt k-locked by bare key id",
            lambda: p("a-keyuser").kms.encrypt(KeyId=world.key_id("k-locked"),
                                               Plaintext=PLAINTEXT),
            OK),
        Row("a-admin Decrypt k-default without KeyId",
            lambda: admin.kms.decrypt(CiphertextBlob=world.ciphertexts["k-default"]),
            OK,
            lambda answer: expect_equal("Plaintext", PLAINTEXT, answer["Plaintext"])),
        Row("a-admin ReEncrypt k-default to k-restrict",
            lambda: admin.kms.re_encrypt(
                CiphertextBlob=world.ciphertexts["k-default"],
                DestinationKeyId=world.keys["k-restrict"]),
            OK,
            lambda answer: expect_equal("KeyId", world.keys["k-restrict"], answer["KeyId"])),
        Row("a-keyuser ReEncrypt k-restrict to k-default",
            lambda: p("a-keyuser").kms.re_encrypt(
                CiphertextBlob=world.ciphertexts["k-restrict"],
                DestinationKeyId=world.keys["k-default"]),
            kms_denied(p("a-keyuser"), "kms:ReEncryptTo", world.keys["k-default"], "id")),
        # Another account's key: only its key ARN names it.
        Row("b-admin Encrypt k-cross by bare key id",
            lambda: b_admin.kms.encrypt(KeyId=cross_id, Plaintext=PLAINTEXT),
            key_not_found(key_arn_of(ACCOUNT_B, cross_id))),
        Row(f"b-admin Encrypt by alias name {CROSS_ALIAS}",
            lambda: b_admin.kms.encrypt(KeyId=CROSS_ALIAS, Plaintext=PLAINTEXT),
            not_found(f"Alias {alias_arn(ACCOUNT_B, CROSS_ALIAS)} is not found.")),
        Row(f"b-admin Encrypt by A's alias ARN {CROSS_ALIAS}",
            lambda: b_admin.kms.encrypt(KeyId=alias_arn(ACCOUNT_A, CROSS_ALIAS),
                                        Plaintext=PLAINTEXT),
            OK,
            lambda answer: expect_equal("KeyId", cross_arn, answer["KeyId"]),
            why="AWS names another account's key in cryptographic operations and DescribeKey "
            "by its key ARN or its alias ARN (KMS developer guide, 'Learn how to use aliases in "
            "your applications'; the KeyId documentation of Encrypt, GenerateDataKey, ...)"),
        Row("b-user Decrypt k-cross without KeyId",
            lambda: p("b-user").kms.decrypt(CiphertextBlob=world.ciphertexts["k-cross"]),
            OK,
            lambda answer: expect_equal("Plaintext", PLAINTEXT, answer["Plaintext"]),
            why="AWS: KeyId is optional for a symmetric ciphertext (the blob's metadata names "
            "the key), for another account's key too when its policies allow"),
        Row("b-admin EnableKey k-cross",
            lambda: b_admin.kms.enable_key(KeyId=cross_arn),
            key_not_found(cross_arn)),
        Row("b-admin TagResource k-cross",
            lambda: b_admin.kms.tag_resource(
                KeyId=cross_arn, Tags=[{"TagKey": "team", "TagValue": "b"}]),
            key_not_found(cross_arn)),
        Row("b-admin CreateAlias in B for k-cross",
            lambda: b_admin.kms.create_alias(AliasName="alias/matrix-b-cross",
                                             TargetKeyId=cross_arn),
            key_not_found(cross_arn)),
        Row("b-user GenerateDataKey k-cross by bare key id",
            lambda: p("b-user").kms.generate_data_key(KeyId=cross_id, KeySpec="AES_256"),
            key_not_found(key_arn_of(ACCOUNT_B, cross_id))),
        # IAM writes are identity-policy decisions too.
        Row("a-nopolicy iam CreateUser",
            lambda: p("a-nopolicy").iam.create_user(UserName="matrix-sneaky"),
            iam_denied(p("a-nopolicy"), "iam:CreateUser",
                       user_arn(ACCOUNT_A, "matrix-sneaky"))),
        Row("a-role@b iam CreateUser",
            lambda: p("a-role@b").iam.create_user(UserName="matrix-sneaky"),
            iam_denied(p("a-role@b"), "iam:CreateUser",
                       user_arn(ACCOUNT_A, "matrix-sneaky"))),
        Row("b-admin iam GetUser of an A user",
            lambda: b_admin.iam.get_user(UserName=A_USERS["a-keyuser"]),
            Expect("NoSuchEntity",
                   f"The user with name {A_USERS['a-keyuser']} cannot be found.", 404)),
    ]
    return rows


# ---------------------------------------------------------------------------------------------
# Running


def clean_environment(work: str) -> None:
    """No developer AWS settings, profiles or proxies may reach boto3."""
    for name in list(os.environ):
        if name.startswith("AWS_") or (name.startswith("STRONGBOX_") and name != "STRONGBOX_BIN"):
            del os.environ[name]
    empty = os.path.join(work, "aws-config")
    open(empty, "w", encoding="utf-8").close()
    os.environ["AWS_CONFIG_FILE"] = empty
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = empty
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"


def main() -> int:
    binary = os.environ.get("STRONGBOX_BIN")
    if not binary:
        print("FAIL  STRONGBOX_BIN is not set (the strongbox binary to test)")
        print("0 passed, 1 failed")
        return 1
    if not os.access(binary, os.X_OK):
        print(f"FAIL  STRONGBOX_BIN={binary} is not an executable")
        print("0 passed, 1 failed")
        return 1
    # SIGTERM (a test harness giving up) unwinds through the finally below like an exception.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    started = time.monotonic()
    server = Server(binary)
    passed = failed = 0
    try:
        clean_environment(server.work)
        print(f"using {binary}")
        try:
            server.start()
            world = build_world(server)
        except Exception as error:  # noqa: BLE001 - the setup failing is one failure
            print(f"FAIL  setup: {error!r}")
            print(server.log_tail())
            print("0 passed, 1 failed")
            return 1
        print(f"setup done in {time.monotonic() - started:.1f} s on {server.url}")
        rows = (
            key_matrix_rows(world)
            + account_matrix_rows(world)
            + sts_rows(world)
            + extra_kms_rows(world)
        )
        for row in rows:
            problems = run_row(row)
            if problems:
                failed += 1
                print(f"FAIL  {row.name}")
                if row.why:
                    problems.append(f"why:      {row.why}")
                for line in problems:
                    print(f"      {line}")
            else:
                passed += 1
                print(f"PASS  {row.name}")
        if failed:
            print(server.log_tail())
        print(f"{len(rows)} rows in {time.monotonic() - started:.1f} s")
        print(f"{passed} passed, {failed} failed")
        return 1 if failed else 0
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
