//! TagResource, UntagResource, ListResourceTags.

use super::Kms;
use super::resolve::{Access, KeyRef};
use crate::error::Error;
use crate::model::{Principal, Tags};
use crate::operation::Operation;
use crate::state;
use crate::store::{Page, PageRequest};
use crate::validate;

impl Kms {
    /// TagResource: adds tags, overwriting the values of keys already present.
    pub async fn tag_resource(
        &self,
        principal: &Principal,
        key_ref: &KeyRef,
        tags: Tags,
    ) -> Result<(), Error> {
        let access = Access::of(Operation::TagResource).with_tags(&tags);
        self.modify_key(principal, key_ref, access, |key| {
            state::allows(Operation::TagResource, key.state, &key.arn)?;
            key.tags = validate::merged_tags(&key.tags, tags.clone())?;
            Ok(())
        })
        .await
        .map(drop)
    }

    /// UntagResource: removes tags; absent keys are ignored, as in AWS.
    pub async fn untag_resource(
        &self,
        principal: &Principal,
        key_ref: &KeyRef,
        tag_keys: &[String],
    ) -> Result<(), Error> {
        let tag_keys = validate::tag_keys(tag_keys)?;
        let access = Access::of(Operation::UntagResource).with_tag_keys(&tag_keys);
        self.modify_key(principal, key_ref, access, |key| {
            state::allows(Operation::UntagResource, key.state, &key.arn)?;
            key.tags.retain(|tag_key, _| !tag_keys.contains(tag_key));
            Ok(())
        })
        .await
        .map(drop)
    }

    /// ListResourceTags: the key's tags ordered by tag key, paged by the last key returned.
    pub async fn list_resource_tags(
        &self,
        principal: &Principal,
        key_ref: &KeyRef,
        page: &PageRequest,
    ) -> Result<Page<(String, String)>, Error> {
        let access = Access::of(Operation::ListResourceTags);
        let key = self.resolve(principal, key_ref, access).await?;
        let after = page.after.as_deref();
        let mut items: Vec<(String, String)> = key
            .tags
            .iter()
            .filter(|(tag_key, _)| after.is_none_or(|after| tag_key.as_str() > after))
            .map(|(k, v)| (k.clone(), v.clone()))
            .take(page.limit as usize + 1)
            .collect();
        let next = if items.len() > page.limit as usize {
            items.truncate(page.limit as usize);
            items.last().map(|(tag_key, _)| tag_key.clone())
        } else {
            None
        };
        Ok(Page { items, next })
    }
}
