//! The IAM actions Strongbox serves: users, access keys, roles and their inline policies.

use strongbox_core::kms::RoleInput;
use strongbox_core::model::{
    AccessKeyId, AccessKeyStatus, AccountId, InlinePolicy, PolicyOwner, Principal, Role, User,
};
use strongbox_core::policy::CallerKind;
use strongbox_core::{Kms, Page, PageRequest, messages};

use super::xml::{Xml, percent_encode};
use super::{QueryRequest, date};
use crate::wire::{ApiError, ErrorCode};

/// The IAM actions served.
pub(super) const ACTIONS: &[&str] = &[
    "CreateUser",
    "GetUser",
    "ListUsers",
    "DeleteUser",
    "CreateAccessKey",
    "ListAccessKeys",
    "UpdateAccessKey",
    "DeleteAccessKey",
    "PutUserPolicy",
    "GetUserPolicy",
    "ListUserPolicies",
    "DeleteUserPolicy",
    "CreateRole",
    "GetRole",
    "ListRoles",
    "DeleteRole",
    "UpdateAssumeRolePolicy",
    "PutRolePolicy",
    "GetRolePolicy",
    "ListRolePolicies",
    "DeleteRolePolicy",
];

/// IAM's `MaxItems` default and bound.
const DEFAULT_ITEMS: i64 = 100;
const MAX_ITEMS: i64 = 1000;

pub(super) async fn run(
    kms: &Kms,
    principal: &Principal,
    request: &QueryRequest,
    xml: &mut Xml,
) -> Result<(), ApiError> {
    let account = principal.account;
    let action = request.action.as_str();
    let iam_action = format!("iam:{action}");
    let allow = |resource: &str| kms.authorize_action(principal, &iam_action, resource);
    let result = format!("{action}Result");
    match action {
        "CreateUser" => {
            let name = request.required("UserName", "userName")?;
            let path = request.get("Path").unwrap_or("/");
            allow(&format!("arn:aws:iam::{account}:user{path}{name}"))?;
            let user = kms
                .create_user(&account, name, request.get("Path"), &[])
                .await?;
            xml.open(&result);
            write_user(xml, &user);
            xml.close(&result);
        }
        "GetUser" => {
            let name = match request.get("UserName") {
                Some(name) => name.to_owned(),
                None => match &principal.caller().kind {
                    CallerKind::User { name } => name.clone(),
                    CallerKind::Root => {
                        allow(principal.arn())?;
                        let created = kms.account(&account).await?.created_at;
                        xml.open(&result)
                            .open("User")
                            .text("UserId", &principal.caller().user_id)
                            .text("Arn", principal.arn())
                            .text("CreateDate", &date(created))
                            .close("User")
                            .close(&result);
                        return Ok(());
                    }
                    CallerKind::AssumedRole { .. } => {
                        return Err(validation(messages::USER_NAME_REQUIRED));
                    }
                },
            };
            allow(&user_resource(kms, &account, &name).await)?;
            let user = kms.get_user(&account, &name).await?;
            xml.open(&result);
            write_user(xml, &user);
            xml.close(&result);
        }
        "ListUsers" => {
            allow(&format!("arn:aws:iam::{account}:user/*"))?;
            let page = kms.list_users(&account, &page_request(request)?).await?;
            xml.open(&result).open("Users");
            for user in &page.items {
                xml.open("member");
                write_user_fields(xml, user);
                xml.close("member");
            }
            xml.close("Users");
            write_page_end(xml, &page);
            xml.close(&result);
        }
        "DeleteUser" => {
            let name = request.required("UserName", "userName")?;
            allow(&user_resource(kms, &account, name).await)?;
            kms.delete_user(&account, name).await?;
        }
        "CreateAccessKey" => {
            let name = caller_user(principal, request)?;
            allow(&user_resource(kms, &account, &name).await)?;
            let created = kms.create_user_access_key(&account, &name).await?;
            let secret = zeroize::Zeroizing::new(
                String::from_utf8_lossy(created.secret.expose()).into_owned(),
            );
            xml.open(&result)
                .open("AccessKey")
                .text("UserName", &created.key.user)
                .text("AccessKeyId", created.key.id.as_str())
                .text("Status", "Active")
                .text("SecretAccessKey", &secret)
                .text("CreateDate", &date(created.key.created_at))
                .close("AccessKey")
                .close(&result);
        }
        "ListAccessKeys" => {
            let name = caller_user(principal, request)?;
            allow(&user_resource(kms, &account, &name).await)?;
            let user = kms.get_user(&account, &name).await?;
            let keys = kms.list_access_keys(&account).await?;
            xml.open(&result).open("AccessKeyMetadata");
            for key in keys
                .iter()
                .filter(|key| key.user.eq_ignore_ascii_case(&user.name))
            {
                xml.open("member")
                    .text("UserName", &key.user)
                    .text("AccessKeyId", key.id.as_str())
                    .text("Status", status_text(key.status))
                    .text("CreateDate", &date(key.created_at))
                    .close("member");
            }
            xml.close("AccessKeyMetadata")
                .text("IsTruncated", "false")
                .close(&result);
        }
        "UpdateAccessKey" | "DeleteAccessKey" => {
            let name = caller_user(principal, request)?;
            allow(&user_resource(kms, &account, &name).await)?;
            let id = request.required("AccessKeyId", "accessKeyId")?;
            let id = AccessKeyId::parse(id).map_err(|_| {
                ApiError::from(strongbox_core::Error::NotFound(
                    messages::no_such_access_key(id),
                ))
            })?;
            if action == "UpdateAccessKey" {
                let status = match request.required("Status", "status")? {
                    "Active" => AccessKeyStatus::Active,
                    "Inactive" => AccessKeyStatus::Inactive,
                    other => {
                        return Err(validation(&messages::validation(&[
                            messages::Violation::not_in_set(other, "status", "[Active, Inactive]"),
                        ])));
                    }
                };
                kms.set_access_key_status(&account, &name, &id, status)
                    .await?;
            } else {
                let user = kms.get_user(&account, &name).await?;
                let owned = kms
                    .list_access_keys(&account)
                    .await?
                    .iter()
                    .any(|key| key.id == id && key.user.eq_ignore_ascii_case(&user.name));
                if !owned {
                    return Err(
                        strongbox_core::Error::NotFound(messages::no_such_access_key(id.as_str()))
                            .into(),
                    );
                }
                kms.delete_access_key(&account, &id).await?;
            }
        }
        "PutUserPolicy" | "PutRolePolicy" => {
            let (owner, arn) = owner(kms, &account, request).await?;
            allow(&arn)?;
            let policy = InlinePolicy {
                name: request.required("PolicyName", "policyName")?.to_owned(),
                document: request
                    .required("PolicyDocument", "policyDocument")?
                    .to_owned(),
            };
            kms.put_inline_policy(&account, &owner, policy).await?;
        }
        "GetUserPolicy" | "GetRolePolicy" => {
            let (owner, arn) = owner(kms, &account, request).await?;
            allow(&arn)?;
            let name = request.required("PolicyName", "policyName")?;
            let (owner, policy) = kms.get_inline_policy(&account, &owner, name).await?;
            let owner_element = match owner {
                PolicyOwner::User(_) => "UserName",
                PolicyOwner::Role(_) => "RoleName",
            };
            xml.open(&result)
                .text(owner_element, owner.name())
                .text("PolicyName", &policy.name)
                .text("PolicyDocument", &percent_encode(&policy.document))
                .close(&result);
        }
        "ListUserPolicies" | "ListRolePolicies" => {
            let (owner, arn) = owner(kms, &account, request).await?;
            allow(&arn)?;
            let names = kms.list_inline_policies(&account, &owner).await?;
            xml.open(&result);
            if names.is_empty() {
                xml.empty("PolicyNames");
            } else {
                xml.open("PolicyNames");
                for name in &names {
                    xml.text("member", name);
                }
                xml.close("PolicyNames");
            }
            xml.text("IsTruncated", "false").close(&result);
        }
        "DeleteUserPolicy" | "DeleteRolePolicy" => {
            let (owner, arn) = owner(kms, &account, request).await?;
            allow(&arn)?;
            let name = request.required("PolicyName", "policyName")?;
            kms.delete_inline_policy(&account, &owner, name).await?;
        }
        "CreateRole" => {
            let name = request.required("RoleName", "roleName")?;
            let path = request.get("Path").unwrap_or("/");
            allow(&format!("arn:aws:iam::{account}:role{path}{name}"))?;
            let max = request
                .integer("MaxSessionDuration", "maxSessionDuration")?
                .map(session_limit)
                .transpose()?;
            let input = RoleInput {
                name: name.to_owned(),
                path: request.get("Path").map(str::to_owned),
                trust_policy: request
                    .required("AssumeRolePolicyDocument", "assumeRolePolicyDocument")?
                    .to_owned(),
                description: request.get("Description").map(str::to_owned),
                max_session_seconds: max,
            };
            let role = kms.create_role(&account, input).await?;
            xml.open(&result).open("Role");
            write_role_fields(xml, &role, RoleView::Created);
            xml.close("Role").close(&result);
        }
        "GetRole" => {
            let name = request.required("RoleName", "roleName")?;
            allow(&role_resource(kms, &account, name).await)?;
            let role = kms.get_role(&account, name).await?;
            xml.open(&result).open("Role");
            write_role_fields(xml, &role, RoleView::Full);
            xml.close("Role").close(&result);
        }
        "ListRoles" => {
            allow(&format!("arn:aws:iam::{account}:role/*"))?;
            let page = kms.list_roles(&account, &page_request(request)?).await?;
            xml.open(&result).open("Roles");
            for role in &page.items {
                xml.open("member");
                write_role_fields(xml, role, RoleView::Listed);
                xml.close("member");
            }
            xml.close("Roles");
            write_page_end(xml, &page);
            xml.close(&result);
        }
        "DeleteRole" => {
            let name = request.required("RoleName", "roleName")?;
            allow(&role_resource(kms, &account, name).await)?;
            kms.delete_role(&account, name).await?;
        }
        "UpdateAssumeRolePolicy" => {
            let name = request.required("RoleName", "roleName")?;
            allow(&role_resource(kms, &account, name).await)?;
            let document = request.required("PolicyDocument", "policyDocument")?;
            kms.update_trust_policy(&account, name, document.to_owned())
                .await?;
        }
        other => {
            return Err(ApiError::new(
                ErrorCode::UnknownOperation,
                format!("Could not find operation {other} for version 2010-05-08"),
            ));
        }
    }
    Ok(())
}

fn validation(message: &str) -> ApiError {
    ApiError::new(ErrorCode::Validation, message)
}

/// The user a call is about: `UserName`, or the calling user when it is omitted.
fn caller_user(principal: &Principal, request: &QueryRequest) -> Result<String, ApiError> {
    if let Some(name) = request.get("UserName") {
        return Ok(name.to_owned());
    }
    match &principal.caller().kind {
        CallerKind::User { name } => Ok(name.clone()),
        _ => Err(validation(messages::USER_NAME_REQUIRED)),
    }
}

/// The owner of an inline-policy call (`UserName` for the user actions, `RoleName` for the
/// role ones) and the ARN it is authorized against.
async fn owner(
    kms: &Kms,
    account: &AccountId,
    request: &QueryRequest,
) -> Result<(PolicyOwner, String), ApiError> {
    if request.action.contains("User") {
        let name = request.required("UserName", "userName")?;
        let arn = user_resource(kms, account, name).await;
        Ok((PolicyOwner::User(name.to_owned()), arn))
    } else {
        let name = request.required("RoleName", "roleName")?;
        let arn = role_resource(kms, account, name).await;
        Ok((PolicyOwner::Role(name.to_owned()), arn))
    }
}

/// The ARN an action on user `name` is authorized against: the user's own (with its path, and
/// its name as created: IAM names ignore case, ARNs in policies do not), or, when there is no
/// such user, the ARN the name would have (the call then fails after authorization, as in
/// IAM).
async fn user_resource(kms: &Kms, account: &AccountId, name: &str) -> String {
    match kms.get_user(account, name).await {
        Ok(user) => user.arn(),
        Err(_) => format!("arn:aws:iam::{account}:user/{name}"),
    }
}

/// As [`user_resource`], for a role.
async fn role_resource(kms: &Kms, account: &AccountId, name: &str) -> String {
    match kms.get_role(account, name).await {
        Ok(role) => role.arn(),
        Err(_) => format!("arn:aws:iam::{account}:role/{name}"),
    }
}

fn session_limit(seconds: i64) -> Result<u32, ApiError> {
    let range = strongbox_core::kms::MAX_SESSION_RANGE;
    u32::try_from(seconds)
        .ok()
        .filter(|s| range.contains(s))
        .ok_or_else(|| {
            validation(&messages::validation(&[messages::Violation::range(
                seconds,
                "maxSessionDuration",
                i64::from(*range.start()),
                i64::from(*range.end()),
            )
            .unwrap_or_else(|| messages::Violation::null("maxSessionDuration"))]))
        })
}

fn page_request(request: &QueryRequest) -> Result<PageRequest, ApiError> {
    let limit = request
        .integer("MaxItems", "maxItems")?
        .unwrap_or(DEFAULT_ITEMS);
    if !(1..=MAX_ITEMS).contains(&limit) {
        return Err(validation(&messages::validation(&[
            messages::Violation::range(limit, "maxItems", 1, MAX_ITEMS)
                .unwrap_or_else(|| messages::Violation::null("maxItems")),
        ])));
    }
    Ok(PageRequest {
        limit: u32::try_from(limit).unwrap_or(100),
        after: request.get("Marker").map(str::to_owned),
    })
}

fn write_page_end<T>(xml: &mut Xml, page: &Page<T>) {
    match &page.next {
        Some(marker) => {
            xml.text("IsTruncated", "true").text("Marker", marker);
        }
        None => {
            xml.text("IsTruncated", "false");
        }
    }
}

fn status_text(status: AccessKeyStatus) -> &'static str {
    match status {
        AccessKeyStatus::Active => "Active",
        AccessKeyStatus::Inactive => "Inactive",
    }
}

fn write_user(xml: &mut Xml, user: &User) {
    xml.open("User");
    write_user_fields(xml, user);
    xml.close("User");
}

fn write_user_fields(xml: &mut Xml, user: &User) {
    xml.text("Path", &user.path)
        .text("UserName", &user.name)
        .text("UserId", &user.id)
        .text("Arn", &user.arn())
        .text("CreateDate", &date(user.created_at));
}

/// Which call a role is written for: IAM shows different members in each.
#[derive(Clone, Copy, PartialEq, Eq)]
enum RoleView {
    /// CreateRole: no MaxSessionDuration, no RoleLastUsed.
    Created,
    /// GetRole: both.
    Full,
    /// ListRoles: MaxSessionDuration, no RoleLastUsed.
    Listed,
}

fn write_role_fields(xml: &mut Xml, role: &Role, view: RoleView) {
    xml.text("Path", &role.path)
        .text("RoleName", &role.name)
        .text("RoleId", &role.id)
        .text("Arn", &role.arn())
        .text("CreateDate", &date(role.created_at))
        .text(
            "AssumeRolePolicyDocument",
            &percent_encode(&role.trust_policy),
        );
    if !role.description.is_empty() {
        xml.text("Description", &role.description);
    }
    if view != RoleView::Created {
        xml.text("MaxSessionDuration", &role.max_session_seconds.to_string());
    }
    if view == RoleView::Full {
        xml.empty("RoleLastUsed");
    }
}
