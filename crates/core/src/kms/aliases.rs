//! CreateAlias, UpdateAlias, DeleteAlias, ListAliases. Aliases are unique per account and
//! Region and never cross accounts.

use super::Kms;
use super::resolve::{Access, KeyRef};
use crate::error::Error;
use crate::messages;
use crate::model::{Alias, AliasName, Key, Principal};
use crate::operation::Operation;
use crate::state;
use crate::store::{Page, PageRequest, StoreErrorKind};

impl Kms {
    /// CreateAlias: names a key of the caller's account in the request's Region.
    pub async fn create_alias(
        &self,
        principal: &Principal,
        name: AliasName,
        target: &KeyRef,
    ) -> Result<Alias, Error> {
        refuse_reserved(&name)?;
        self.authorize_alias(principal, &name, Operation::CreateAlias)?;
        let key = self
            .alias_target_key(principal, target, Operation::CreateAlias)
            .await?;
        let now = self.clock.now();
        let alias = Alias {
            account: principal.account,
            region: principal.region,
            name,
            target: key.id(),
            created_at: now,
            updated_at: now,
        };
        match self.store.create_alias(&alias).await {
            Ok(()) => Ok(alias),
            Err(error) if error.kind() == StoreErrorKind::Conflict => Err(Error::AlreadyExists(
                messages::alias_exists(&alias.name.arn(&alias.region, &alias.account)),
            )),
            Err(error) => Err(error.into()),
        }
    }

    /// UpdateAlias: points an alias at another key of the same type and usage.
    pub async fn update_alias(
        &self,
        principal: &Principal,
        name: AliasName,
        target: &KeyRef,
    ) -> Result<Alias, Error> {
        refuse_reserved(&name)?;
        self.authorize_alias(principal, &name, Operation::UpdateAlias)?;
        let mut alias = self.existing_alias(principal, &name).await?;
        // Permission on the key the alias leaves, then on the one it goes to, as AWS asks.
        self.resolve_fresh(
            principal,
            &KeyRef::Id(alias.target),
            Access::of(Operation::UpdateAlias),
        )
        .await?;
        let key = self
            .alias_target_key(principal, target, Operation::UpdateAlias)
            .await?;
        let current = self
            .store
            .key(&principal.account, &principal.region, alias.target)
            .await?;
        if let Some(current) = current
            && (current.spec != key.spec || current.usage != key.usage)
        {
            return Err(Error::Validation(messages::alias_incompatible_keys(
                &current.arn.to_string(),
                &key.arn.to_string(),
            )));
        }
        alias.target = key.id();
        alias.updated_at = self.clock.now();
        let written = self.store.update_alias(&alias).await;
        self.forget_alias(principal, &name);
        match written {
            Ok(()) => Ok(alias),
            Err(error) if error.kind() == StoreErrorKind::NotFound => {
                Err(alias_not_found(principal, &name))
            }
            Err(error) => Err(error.into()),
        }
    }

    /// DeleteAlias.
    pub async fn delete_alias(&self, principal: &Principal, name: AliasName) -> Result<(), Error> {
        refuse_reserved(&name)?;
        self.authorize_alias(principal, &name, Operation::DeleteAlias)?;
        let alias = self.existing_alias(principal, &name).await?;
        self.resolve_fresh(
            principal,
            &KeyRef::Id(alias.target),
            Access::of(Operation::DeleteAlias),
        )
        .await?;
        let deleted = self
            .store
            .delete_alias(&principal.account, &principal.region, &name)
            .await;
        self.forget_alias(principal, &name);
        if deleted? {
            Ok(())
        } else {
            Err(alias_not_found(principal, &name))
        }
    }

    /// ListAliases: all of the caller's aliases in the Region, or those of one key.
    pub async fn list_aliases(
        &self,
        principal: &Principal,
        key: Option<&KeyRef>,
        page: &PageRequest,
    ) -> Result<Page<Alias>, Error> {
        self.authorize_unkeyed(principal, Access::of(Operation::ListAliases), "*")?;
        let target = match key {
            Some(key_ref) => {
                let access = Access::of(Operation::ListAliases);
                Some(self.resolve(principal, key_ref, access).await?.id())
            }
            None => None,
        };
        Ok(self
            .store
            .list_aliases(&principal.account, &principal.region, target, page)
            .await?)
    }

    /// The alias side of an alias operation: identity policies must allow the action on the
    /// alias's ARN (a key policy cannot speak for aliases).
    fn authorize_alias(
        &self,
        principal: &Principal,
        name: &AliasName,
        operation: Operation,
    ) -> Result<(), Error> {
        let arn = name.arn(&principal.region, &principal.account);
        self.authorize_unkeyed(
            principal,
            Access::of(operation).with_alias(name.as_str()),
            &arn,
        )
    }

    async fn existing_alias(
        &self,
        principal: &Principal,
        name: &AliasName,
    ) -> Result<Alias, Error> {
        self.store
            .alias(&principal.account, &principal.region, name)
            .await?
            .ok_or_else(|| alias_not_found(principal, name))
    }

    /// The key an alias may point at: named by key id or key ARN (not by another alias), in
    /// the caller's account, and not pending deletion.
    async fn alias_target_key(
        &self,
        principal: &Principal,
        target: &KeyRef,
        operation: Operation,
    ) -> Result<Key, Error> {
        if matches!(target, KeyRef::Alias(_) | KeyRef::AliasArn { .. }) {
            return Err(Error::Validation(messages::ALIAS_TARGETS_ALIAS.to_owned()));
        }
        let key = self
            .resolve_fresh(principal, target, Access::of(operation))
            .await?;
        state::allows(operation, key.state, &key.arn)?;
        Ok(key)
    }

    fn forget_alias(&self, principal: &Principal, name: &AliasName) {
        self.cache
            .forget_alias(&(principal.account, principal.region, name.clone()));
    }
}

fn refuse_reserved(name: &AliasName) -> Result<(), Error> {
    if name.is_reserved() {
        return Err(Error::InvalidAliasName(messages::alias_reserved(
            name.as_str(),
        )));
    }
    Ok(())
}

fn alias_not_found(principal: &Principal, name: &AliasName) -> Error {
    Error::NotFound(messages::alias_not_found(
        &name.arn(&principal.region, &principal.account),
    ))
}
