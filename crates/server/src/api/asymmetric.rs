//! GetPublicKey, Sign, Verify, GenerateMac, VerifyMac, DeriveSharedSecret,
//! GenerateDataKeyPair, GenerateDataKeyPairWithoutPlaintext.

use strongbox_core::kms::SignInput;
use strongbox_core::model::{
    DataKeyPairSpec, KeyAgreementAlgorithm, MacAlgorithm, MessageType, SigningAlgorithm,
};

use super::{Call, dry_run_result, refuse_unsupported};
use crate::wire::asymmetric::{
    DeriveSharedSecretRequest, DeriveSharedSecretResponse, GenerateDataKeyPairRequest,
    GenerateDataKeyPairResponse, GenerateMacRequest, GenerateMacResponse, GetPublicKeyResponse,
    SignRequest, SignResponse, VerifyMacRequest, VerifyMacResponse, VerifyRequest, VerifyResponse,
};
use crate::wire::error;
use crate::wire::fields::{self, Blob, SecretBlob};
use crate::wire::keys::KeyIdRequest;
use crate::wire::{ApiError, Operation};

/// AWS's limit on Sign, Verify and GenerateMac messages.
const MAX_MESSAGE: usize = 4096;
/// AWS's limit on signatures and MACs given to Verify and VerifyMac.
const MAX_SIGNATURE: usize = 6144;
/// AWS's limit on DeriveSharedSecret's public key.
const MAX_PUBLIC_KEY: usize = 8192;

pub async fn get_public_key(
    call: Call<'_>,
    request: KeyIdRequest,
) -> Result<GetPublicKeyResponse, ApiError> {
    let key_ref = fields::key_ref(request.key_id, "keyId")?;
    let output = call.kms.get_public_key(call.principal, &key_ref).await?;
    let key = &output.key;
    let algorithms = key.spec.algorithms(key.usage);
    Ok(GetPublicKeyResponse {
        key_id: key.arn.to_string(),
        public_key: Blob(output.public_key),
        customer_master_key_spec: key.spec.as_str(),
        key_spec: key.spec.as_str(),
        key_usage: key.usage.as_str(),
        encryption_algorithms: algorithms.encryption.iter().map(|a| a.as_str()).collect(),
        signing_algorithms: algorithms.signing.iter().map(|a| a.as_str()).collect(),
        key_agreement_algorithms: algorithms
            .key_agreement
            .iter()
            .map(|a| a.as_str())
            .collect(),
    })
}

fn sign_input<'a>(
    message: &'a SecretBlob,
    message_type: Option<String>,
    algorithm: Option<String>,
) -> Result<SignInput<'a>, ApiError> {
    let algorithm = fields::aws_enum(
        algorithm,
        "signingAlgorithm",
        SigningAlgorithm::parse,
        SigningAlgorithm::value_set,
    )?
    .ok_or_else(|| error::missing("signingAlgorithm"))?;
    let message_type = fields::aws_enum(
        message_type,
        "messageType",
        MessageType::parse,
        MessageType::value_set,
    )?
    .unwrap_or(MessageType::Raw);
    Ok(SignInput {
        message: message.0.expose(),
        message_type,
        algorithm,
    })
}

pub async fn sign(call: Call<'_>, request: SignRequest) -> Result<SignResponse, ApiError> {
    let key_ref = fields::key_ref(request.key_id, "keyId")?;
    let message = fields::required_len(request.message, "message", 1, MAX_MESSAGE)?;
    let input = sign_input(&message, request.message_type, request.signing_algorithm)?;
    let (key, signature) = call.kms.sign(call.principal, &key_ref, input).await?;
    dry_run_result(
        request.dry_run,
        SignResponse {
            key_id: key.arn.to_string(),
            signature: Blob(signature),
            signing_algorithm: input.algorithm.as_str(),
        },
    )
}

pub async fn verify(call: Call<'_>, request: VerifyRequest) -> Result<VerifyResponse, ApiError> {
    let key_ref = fields::key_ref(request.key_id, "keyId")?;
    let message = fields::required_len(request.message, "message", 1, MAX_MESSAGE)?;
    let signature = fields::required_len(request.signature, "signature", 1, MAX_SIGNATURE)?;
    let input = sign_input(&message, request.message_type, request.signing_algorithm)?;
    let key = call
        .kms
        .verify(call.principal, &key_ref, input, &signature.0)
        .await?;
    dry_run_result(
        request.dry_run,
        VerifyResponse {
            key_id: key.arn.to_string(),
            signature_valid: true,
            signing_algorithm: input.algorithm.as_str(),
        },
    )
}

fn mac_algorithm(value: Option<String>) -> Result<MacAlgorithm, ApiError> {
    fields::aws_enum(
        value,
        "macAlgorithm",
        MacAlgorithm::parse,
        MacAlgorithm::value_set,
    )?
    .ok_or_else(|| error::missing("macAlgorithm"))
}

pub async fn generate_mac(
    call: Call<'_>,
    request: GenerateMacRequest,
) -> Result<GenerateMacResponse, ApiError> {
    let key_ref = fields::key_ref(request.key_id, "keyId")?;
    let message = fields::required_len(request.message, "message", 1, MAX_MESSAGE)?;
    let algorithm = mac_algorithm(request.mac_algorithm)?;
    let (key, mac) = call
        .kms
        .generate_mac(call.principal, &key_ref, algorithm, message.0.expose())
        .await?;
    dry_run_result(
        request.dry_run,
        GenerateMacResponse {
            mac: Blob(mac),
            mac_algorithm: algorithm.as_str(),
            key_id: key.arn.to_string(),
        },
    )
}

pub async fn verify_mac(
    call: Call<'_>,
    request: VerifyMacRequest,
) -> Result<VerifyMacResponse, ApiError> {
    let key_ref = fields::key_ref(request.key_id, "keyId")?;
    let message = fields::required_len(request.message, "message", 1, MAX_MESSAGE)?;
    let mac = fields::required_len(request.mac, "mac", 1, MAX_SIGNATURE)?;
    let algorithm = mac_algorithm(request.mac_algorithm)?;
    let key = call
        .kms
        .verify_mac(
            call.principal,
            &key_ref,
            algorithm,
            message.0.expose(),
            &mac.0,
        )
        .await?;
    dry_run_result(
        request.dry_run,
        VerifyMacResponse {
            key_id: key.arn.to_string(),
            mac_valid: true,
            mac_algorithm: algorithm.as_str(),
        },
    )
}

pub async fn derive_shared_secret(
    call: Call<'_>,
    request: DeriveSharedSecretRequest,
) -> Result<DeriveSharedSecretResponse, ApiError> {
    refuse_unsupported(
        request.recipient.is_some(),
        "Recipient (Nitro Enclaves attestation)",
    )?;
    let key_ref = fields::key_ref(request.key_id, "keyId")?;
    let algorithm = fields::aws_enum(
        request.key_agreement_algorithm,
        "keyAgreementAlgorithm",
        KeyAgreementAlgorithm::parse,
        KeyAgreementAlgorithm::value_set,
    )?
    .ok_or_else(|| error::missing("keyAgreementAlgorithm"))?;
    let public_key = fields::required_len(request.public_key, "publicKey", 1, MAX_PUBLIC_KEY)?;
    let (key, secret) = call
        .kms
        .derive_shared_secret(call.principal, &key_ref, algorithm, &public_key.0)
        .await?;
    dry_run_result(
        request.dry_run,
        DeriveSharedSecretResponse {
            key_id: key.arn.to_string(),
            shared_secret: SecretBlob(secret),
            key_agreement_algorithm: algorithm.as_str(),
            key_origin: key.origin.as_str(),
        },
    )
}

pub async fn generate_data_key_pair(
    call: Call<'_>,
    request: GenerateDataKeyPairRequest,
) -> Result<GenerateDataKeyPairResponse, ApiError> {
    pair(call, request, true).await
}

pub async fn generate_data_key_pair_without_plaintext(
    call: Call<'_>,
    request: GenerateDataKeyPairRequest,
) -> Result<GenerateDataKeyPairResponse, ApiError> {
    pair(call, request, false).await
}

async fn pair(
    call: Call<'_>,
    request: GenerateDataKeyPairRequest,
    with_plaintext: bool,
) -> Result<GenerateDataKeyPairResponse, ApiError> {
    refuse_unsupported(
        request.recipient.is_some(),
        "Recipient (Nitro Enclaves attestation)",
    )?;
    let key_ref = fields::key_ref(request.key_id, "keyId")?;
    let spec = fields::aws_enum(
        request.key_pair_spec,
        "keyPairSpec",
        DataKeyPairSpec::parse,
        DataKeyPairSpec::value_set,
    )?
    .ok_or_else(|| error::missing("keyPairSpec"))?;
    let context = fields::context(request.encryption_context)?;
    let action = if with_plaintext {
        Operation::GenerateDataKeyPair
    } else {
        Operation::GenerateDataKeyPairWithoutPlaintext
    };
    let output = call
        .kms
        .generate_data_key_pair(call.principal, &key_ref, spec, &context, action)
        .await?;
    dry_run_result(
        request.dry_run,
        GenerateDataKeyPairResponse {
            private_key_ciphertext_blob: Blob(output.private_key_ciphertext),
            private_key_plaintext: with_plaintext.then_some(SecretBlob(output.private_key)),
            public_key: Blob(output.public_key),
            key_id: output.key.arn.to_string(),
            key_pair_spec: spec.as_str(),
            key_material_id: output.key.current_material_id(),
        },
    )
}
