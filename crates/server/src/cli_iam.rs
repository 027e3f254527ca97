//! `strongbox user ...` and `strongbox role ...`: IAM identities for operators without
//! credentials. The same things are reachable as `aws iam ...` on the endpoint; both go through
//! the same core functions and checks.

use clap::Subcommand;
use strongbox_core::Kms;
use strongbox_core::kms::RoleInput;
use strongbox_core::model::{InlinePolicy, PolicyOwner};
use strongbox_core::{Page, PageRequest};

use crate::cli::{account_id, rfc3339};
use crate::output::{self, CliError, Table};

/// `user` subcommands.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an IAM user.
    Create {
        /// The owning account id.
        #[arg(long)]
        account: String,
        /// The user's name.
        name: String,
        /// The user's path.
        #[arg(long, default_value = "/")]
        path: String,
        /// Attach the administrator policy (kms:*, iam:*, sts:*, cloudtrail:LookupEvents).
        #[arg(long)]
        admin: bool,
    },
    /// List an account's users.
    List {
        /// The owning account id.
        #[arg(long)]
        account: String,
    },
    /// Delete a user (it must have no access keys and no policies).
    Delete {
        /// The owning account id.
        #[arg(long)]
        account: String,
        /// The user's name.
        name: String,
    },
    /// Add or replace an inline policy of a user.
    PutPolicy(PutPolicy),
    /// Delete an inline policy of a user.
    DeletePolicy(DeletePolicy),
}

/// `role` subcommands.
#[derive(Debug, Subcommand)]
pub enum RoleCommand {
    /// Create an IAM role.
    Create {
        /// The owning account id.
        #[arg(long)]
        account: String,
        /// The role's name.
        name: String,
        /// The trust policy: JSON text, or file://PATH.
        #[arg(long, value_name = "POLICY")]
        trust_policy: String,
        /// The role's path.
        #[arg(long, default_value = "/")]
        path: String,
        /// The longest session AssumeRole grants, 3600 to 43200 seconds.
        #[arg(long, value_name = "SECONDS")]
        max_session_duration: Option<u32>,
    },
    /// List an account's roles.
    List {
        /// The owning account id.
        #[arg(long)]
        account: String,
    },
    /// Delete a role (it must have no policies).
    Delete {
        /// The owning account id.
        #[arg(long)]
        account: String,
        /// The role's name.
        name: String,
    },
    /// Add or replace an inline policy of a role.
    PutPolicy(PutPolicy),
    /// Delete an inline policy of a role.
    DeletePolicy(DeletePolicy),
}

/// `put-policy` arguments.
#[derive(Debug, clap::Args)]
pub struct PutPolicy {
    /// The owning account id.
    #[arg(long)]
    account: String,
    /// The user's or role's name.
    name: String,
    /// The policy's name.
    #[arg(long)]
    policy_name: String,
    /// The policy: JSON text, or file://PATH.
    #[arg(long, value_name = "POLICY")]
    policy_document: String,
}

/// `delete-policy` arguments.
#[derive(Debug, clap::Args)]
pub struct DeletePolicy {
    /// The owning account id.
    #[arg(long)]
    account: String,
    /// The user's or role's name.
    name: String,
    /// The policy's name.
    #[arg(long)]
    policy_name: String,
}

fn failed(error: strongbox_core::Error) -> CliError {
    CliError::Failed(error.to_string())
}

/// A policy argument: inline JSON, or `file://PATH` as the aws CLI reads it.
fn document(value: &str) -> Result<String, CliError> {
    match value.strip_prefix("file://") {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|error| CliError::Failed(format!("cannot read {path}: {error}"))),
        None => Ok(value.to_owned()),
    }
}

/// Every item of a paged list.
async fn all<T, F>(mut page: F) -> Result<Vec<T>, CliError>
where
    F: AsyncFnMut(PageRequest) -> Result<Page<T>, strongbox_core::Error>,
{
    let mut items = Vec::new();
    let mut after = None;
    loop {
        let found = page(PageRequest { limit: 1000, after })
            .await
            .map_err(failed)?;
        items.extend(found.items);
        match found.next {
            Some(next) => after = Some(next),
            None => return Ok(items),
        }
    }
}

async fn put_policy(
    kms: &Kms,
    owner: fn(String) -> PolicyOwner,
    args: PutPolicy,
) -> Result<(), CliError> {
    let account = account_id(&args.account)?;
    let policy = InlinePolicy {
        name: args.policy_name,
        document: document(&args.policy_document)?,
    };
    kms.put_inline_policy(&account, &owner(args.name), policy)
        .await
        .map_err(failed)
}

async fn delete_policy(
    kms: &Kms,
    owner: fn(String) -> PolicyOwner,
    args: DeletePolicy,
) -> Result<(), CliError> {
    let account = account_id(&args.account)?;
    kms.delete_inline_policy(&account, &owner(args.name), &args.policy_name)
        .await
        .map_err(failed)
}

/// The table of `user list` and `role list`: name, unique id, creation time, ARN.
fn identity_table<'a>(
    kind: &'static str,
    rows: impl Iterator<Item = (&'a str, &'a str, time::OffsetDateTime, String)>,
) -> Table {
    let mut table = Table::new(&[kind, "ID", "CREATED", "ARN"]);
    for (name, id, created, arn) in rows {
        table.row([name.to_owned(), id.to_owned(), rfc3339(created), arn]);
    }
    table
}

/// Runs a `user` command.
pub async fn user(command: UserCommand, kms: &Kms) -> Result<(), CliError> {
    match command {
        UserCommand::Create {
            account,
            name,
            path,
            admin,
        } => {
            let account = account_id(&account)?;
            let policies = if admin {
                vec![Kms::admin_policy()]
            } else {
                Vec::new()
            };
            let user = kms
                .create_user(&account, &name, Some(&path), &policies)
                .await
                .map_err(failed)?;
            output::println(user.arn())
        }
        UserCommand::List { account } => {
            let account = account_id(&account)?;
            let users = all(async |page| kms.list_users(&account, &page).await).await?;
            let rows = users
                .iter()
                .map(|u| (u.name.as_str(), u.id.as_str(), u.created_at, u.arn()));
            output::print(identity_table("USER", rows))
        }
        UserCommand::Delete { account, name } => {
            let account = account_id(&account)?;
            kms.delete_user(&account, &name).await.map_err(failed)?;
            output::println(format_args!("deleted user {name}"))
        }
        UserCommand::PutPolicy(args) => put_policy(kms, PolicyOwner::User, args).await,
        UserCommand::DeletePolicy(args) => delete_policy(kms, PolicyOwner::User, args).await,
    }
}

/// Runs a `role` command.
pub async fn role(command: RoleCommand, kms: &Kms) -> Result<(), CliError> {
    match command {
        RoleCommand::Create {
            account,
            name,
            trust_policy,
            path,
            max_session_duration,
        } => {
            let account = account_id(&account)?;
            let input = RoleInput {
                name,
                path: Some(path),
                trust_policy: document(&trust_policy)?,
                description: None,
                max_session_seconds: max_session_duration,
            };
            let role = kms.create_role(&account, input).await.map_err(failed)?;
            output::println(role.arn())
        }
        RoleCommand::List { account } => {
            let account = account_id(&account)?;
            let roles = all(async |page| kms.list_roles(&account, &page).await).await?;
            let rows = roles
                .iter()
                .map(|r| (r.name.as_str(), r.id.as_str(), r.created_at, r.arn()));
            output::print(identity_table("ROLE", rows))
        }
        RoleCommand::Delete { account, name } => {
            let account = account_id(&account)?;
            kms.delete_role(&account, &name).await.map_err(failed)?;
            output::println(format_args!("deleted role {name}"))
        }
        RoleCommand::PutPolicy(args) => put_policy(kms, PolicyOwner::Role, args).await,
        RoleCommand::DeletePolicy(args) => delete_policy(kms, PolicyOwner::Role, args).await,
    }
}
