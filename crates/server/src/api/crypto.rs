//! Encrypt, Decrypt, ReEncrypt, GenerateDataKey, GenerateDataKeyWithoutPlaintext,
//! GenerateRandom.

use strongbox_core::kms::{DataKeySize, MAX_DATA_KEY_BYTES, ReEncryptInput};
use strongbox_core::messages;
use strongbox_core::model::{EncryptionAlgorithm, Key, VersionId};

use super::{Call, dry_run_result, refuse_unsupported};
use crate::wire::crypto::{
    DecryptRequest, DecryptResponse, EncryptRequest, EncryptResponse, GenerateDataKeyRequest,
    GenerateDataKeyResponse, GenerateRandomRequest, GenerateRandomResponse, ReEncryptRequest,
    ReEncryptResponse,
};
use crate::wire::error;
use crate::wire::fields::{self, Blob, SecretBlob};
use crate::wire::{ApiError, ErrorCode, Operation};

/// AWS's limit on plaintext for Encrypt.
const MAX_PLAINTEXT: usize = 4096;
/// AWS's limit on `CiphertextBlob` members.
const MAX_CIPHERTEXT: usize = 6144;

fn algorithm(value: Option<String>, field: &str) -> Result<Option<EncryptionAlgorithm>, ApiError> {
    fields::aws_enum(
        value,
        field,
        EncryptionAlgorithm::parse,
        EncryptionAlgorithm::value_set,
    )
}

pub async fn encrypt(call: Call<'_>, request: EncryptRequest) -> Result<EncryptResponse, ApiError> {
    let key_ref = fields::key_ref(request.key_id, "keyId")?;
    let plaintext = fields::required_len(request.plaintext, "plaintext", 1, MAX_PLAINTEXT)?;
    let context = fields::context(request.encryption_context)?;
    let algorithm = algorithm(request.encryption_algorithm, "encryptionAlgorithm")?;
    let output = call
        .kms
        .encrypt(
            call.principal,
            &key_ref,
            plaintext.0.expose(),
            &context,
            algorithm,
        )
        .await?;
    dry_run_result(
        request.dry_run,
        EncryptResponse {
            ciphertext_blob: Blob(output.ciphertext),
            key_id: output.key.arn.to_string(),
            encryption_algorithm: output.algorithm.as_str(),
        },
    )
}

pub async fn decrypt(call: Call<'_>, request: DecryptRequest) -> Result<DecryptResponse, ApiError> {
    refuse_unsupported(
        request.recipient.is_some(),
        "Recipient (Nitro Enclaves attestation)",
    )?;
    let ciphertext =
        fields::required_len(request.ciphertext_blob, "ciphertextBlob", 1, MAX_CIPHERTEXT)?;
    let key_ref = fields::optional_key_ref(request.key_id, "keyId")?;
    let context = fields::context(request.encryption_context)?;
    let algorithm = algorithm(request.encryption_algorithm, "encryptionAlgorithm")?;
    let output = call
        .kms
        .decrypt(
            call.principal,
            &ciphertext.0,
            &context,
            key_ref.as_ref(),
            algorithm,
        )
        .await?;
    dry_run_result(
        request.dry_run,
        DecryptResponse {
            key_id: output.key.arn.to_string(),
            key_material_id: symmetric_material_id(&output.key, output.version),
            plaintext: SecretBlob(output.plaintext),
            encryption_algorithm: output.algorithm.as_str(),
        },
    )
}

pub async fn re_encrypt(
    call: Call<'_>,
    request: ReEncryptRequest,
) -> Result<ReEncryptResponse, ApiError> {
    let ciphertext =
        fields::required_len(request.ciphertext_blob, "ciphertextBlob", 1, MAX_CIPHERTEXT)?;
    let input = ReEncryptInput {
        ciphertext: ciphertext.0,
        source_context: fields::context(request.source_encryption_context)?,
        source_key: fields::optional_key_ref(request.source_key_id, "sourceKeyId")?,
        source_algorithm: algorithm(
            request.source_encryption_algorithm,
            "sourceEncryptionAlgorithm",
        )?,
        destination_key: fields::key_ref(request.destination_key_id, "destinationKeyId")?,
        destination_context: fields::context(request.destination_encryption_context)?,
        destination_algorithm: algorithm(
            request.destination_encryption_algorithm,
            "destinationEncryptionAlgorithm",
        )?,
    };
    let output = call.kms.re_encrypt(call.principal, input).await?;
    let source = &output.source;
    dry_run_result(
        request.dry_run,
        ReEncryptResponse {
            ciphertext_blob: Blob(output.ciphertext),
            source_key_id: source.key.arn.to_string(),
            key_id: output.destination_key.arn.to_string(),
            source_encryption_algorithm: source.algorithm.as_str(),
            destination_encryption_algorithm: output.destination_algorithm.as_str(),
            source_key_material_id: symmetric_material_id(&source.key, source.version),
            destination_key_material_id: symmetric_material_id(
                &output.destination_key,
                output.destination_key.current_version,
            ),
        },
    )
}

pub async fn generate_data_key(
    call: Call<'_>,
    request: GenerateDataKeyRequest,
) -> Result<GenerateDataKeyResponse, ApiError> {
    generate(call, request, true).await
}

pub async fn generate_data_key_without_plaintext(
    call: Call<'_>,
    request: GenerateDataKeyRequest,
) -> Result<GenerateDataKeyResponse, ApiError> {
    generate(call, request, false).await
}

async fn generate(
    call: Call<'_>,
    request: GenerateDataKeyRequest,
    with_plaintext: bool,
) -> Result<GenerateDataKeyResponse, ApiError> {
    refuse_unsupported(
        request.recipient.is_some(),
        "Recipient (Nitro Enclaves attestation)",
    )?;
    let key_ref = fields::key_ref(request.key_id, "keyId")?;
    let size = data_key_size(request.number_of_bytes, request.key_spec)?;
    let context = fields::context(request.encryption_context)?;
    let action = if with_plaintext {
        Operation::GenerateDataKey
    } else {
        Operation::GenerateDataKeyWithoutPlaintext
    };
    let output = call
        .kms
        .generate_data_key(call.principal, &key_ref, size, &context, action)
        .await?;
    dry_run_result(
        request.dry_run,
        GenerateDataKeyResponse {
            ciphertext_blob: Blob(output.ciphertext),
            key_id: output.key.arn.to_string(),
            key_material_id: output.key.current_material_id(),
            plaintext: with_plaintext.then_some(SecretBlob(output.plaintext)),
        },
    )
}

/// Exactly one of `NumberOfBytes` (1 to 1024) and `KeySpec` (AES_128, AES_256).
fn data_key_size(
    number_of_bytes: Option<i64>,
    key_spec: Option<String>,
) -> Result<DataKeySize, ApiError> {
    let spec_bytes = fields::aws_enum(
        key_spec,
        "keySpec",
        |spec| match spec {
            "AES_128" => Some(16),
            "AES_256" => Some(32),
            _ => None,
        },
        || "[AES_256, AES_128]".to_owned(),
    )?;
    let bytes = match (number_of_bytes, spec_bytes) {
        (Some(_), Some(_)) => {
            return Err(ApiError::new(
                ErrorCode::Validation,
                messages::DATA_KEY_SIZE_TWICE,
            ));
        }
        (None, None) => {
            return Err(ApiError::new(
                ErrorCode::Validation,
                messages::DATA_KEY_SIZE_MISSING,
            ));
        }
        (Some(n), None) | (None, Some(n)) => n,
    };
    sized(bytes, "numberOfBytes")
}

fn sized(bytes: i64, field: &str) -> Result<DataKeySize, ApiError> {
    #[allow(clippy::cast_possible_wrap)] // 1024 fits
    DataKeySize::new(bytes).ok_or_else(|| error::range(field, 1, MAX_DATA_KEY_BYTES as i64, bytes))
}

pub async fn generate_random(
    call: Call<'_>,
    request: GenerateRandomRequest,
) -> Result<GenerateRandomResponse, ApiError> {
    refuse_unsupported(request.custom_key_store_id.is_some(), "CustomKeyStoreId")?;
    refuse_unsupported(
        request.recipient.is_some(),
        "Recipient (Nitro Enclaves attestation)",
    )?;
    // Not required by the model, so AWS's own message rather than "must not be null".
    let bytes = request
        .number_of_bytes
        .ok_or_else(|| ApiError::new(ErrorCode::Validation, messages::NUMBER_OF_BYTES_REQUIRED))?;
    let plaintext = call
        .kms
        .generate_random(call.principal, sized(bytes, "numberOfBytes")?)?;
    Ok(GenerateRandomResponse {
        plaintext: SecretBlob(plaintext),
    })
}

/// AWS reports key material ids only for symmetric encryption keys.
fn symmetric_material_id(key: &Key, version: VersionId) -> Option<String> {
    (!key.spec.is_asymmetric()).then(|| version.material_id(key.id()))
}
