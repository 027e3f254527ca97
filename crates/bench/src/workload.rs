//! The calls a run makes: what each operation sends, how its answer is checked, and the setup
//! (keys, ciphertexts) it needs. Request bodies are built once per key during setup, so the
//! measured loop only clones reference-counted bytes and signs.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use serde::Deserialize;
use serde_json::json;

use crate::client::{Answer, Connection};
use crate::error::Failure;

/// The key id sent to the bare-HTTP baseline, which has no keys.
const BASELINE_KEY: &str = "1234abcd-12ab-34cd-56ef-1234567890ab";

/// The workloads the issue defines; `Mixed` is 70% decrypt, 20% generate-data-key, 10% encrypt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Op {
    Encrypt,
    Decrypt,
    GenerateDataKey,
    GenerateDataKeyWithoutPlaintext,
    DescribeKey,
    Sign,
    CreateKey,
    Mixed,
}

impl Op {
    /// The name used in the report and the JSON line.
    pub fn name(self) -> &'static str {
        match self {
            Op::Encrypt => "encrypt",
            Op::Decrypt => "decrypt",
            Op::GenerateDataKey => "generate-data-key",
            Op::GenerateDataKeyWithoutPlaintext => "generate-data-key-without-plaintext",
            Op::DescribeKey => "describe-key",
            Op::Sign => "sign",
            Op::CreateKey => "create-key",
            Op::Mixed => "mixed",
        }
    }
}

/// One KMS call of the measured loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    Encrypt,
    Decrypt,
    GenerateDataKey,
    GenerateDataKeyWithoutPlaintext,
    DescribeKey,
    Sign,
    CreateKey,
}

impl Call {
    /// The `X-Amz-Target` operation name.
    pub fn operation(self) -> &'static str {
        match self {
            Call::Encrypt => "Encrypt",
            Call::Decrypt => "Decrypt",
            Call::GenerateDataKey => "GenerateDataKey",
            Call::GenerateDataKeyWithoutPlaintext => "GenerateDataKeyWithoutPlaintext",
            Call::DescribeKey => "DescribeKey",
            Call::Sign => "Sign",
            Call::CreateKey => "CreateKey",
        }
    }

    /// The call `op` makes for a random number `roll` in 0..100 (only `Mixed` looks at it).
    pub fn pick(op: Op, roll: u32) -> Call {
        match op {
            Op::Encrypt => Call::Encrypt,
            Op::Decrypt => Call::Decrypt,
            Op::GenerateDataKey => Call::GenerateDataKey,
            Op::GenerateDataKeyWithoutPlaintext => Call::GenerateDataKeyWithoutPlaintext,
            Op::DescribeKey => Call::DescribeKey,
            Op::Sign => Call::Sign,
            Op::CreateKey => Call::CreateKey,
            Op::Mixed if roll < 70 => Call::Decrypt,
            Op::Mixed if roll < 90 => Call::GenerateDataKey,
            Op::Mixed => Call::Encrypt,
        }
    }
}

/// What the calls are made with.
#[derive(Debug, Clone)]
pub struct Settings {
    pub op: Op,
    /// Plaintext size for encrypt (and the ciphertexts decrypt uses), 1-4096 bytes.
    pub size: usize,
    /// Key spec of the keys sign creates, e.g. `ECC_NIST_P256`.
    pub key_spec: String,
    /// The endpoint is the bare-HTTP baseline: no keys to create, answers only need a 200.
    pub baseline: bool,
}

/// Everything one key contributes to the loop: prebuilt bodies and the answers they must give.
#[derive(Debug)]
pub struct KeyFixture {
    /// The key id as given (`--key-id` may be an alias or an ARN) or as created.
    pub key_id: String,
    /// The key's id as DescribeKey reports it.
    canonical_id: String,
    encrypt: Bytes,
    decrypt: Bytes,
    /// Base64 of the plaintext behind `decrypt` (and what `encrypt` sends).
    plaintext: String,
    data_key: Bytes,
    describe: Bytes,
    sign: Bytes,
    signing_algorithm: &'static str,
    message: String,
}

/// The keys of a run.
#[derive(Debug)]
pub struct Fixture {
    pub keys: Vec<KeyFixture>,
    create_key: Bytes,
    settings: Settings,
}

/// The encryption context every encrypt and data-key call binds: two pairs, as the issue asks.
fn encryption_context() -> serde_json::Value {
    json!({"tenant": "strongbox-bench", "purpose": "load-test"})
}

fn body(value: &serde_json::Value) -> Bytes {
    Bytes::from(value.to_string())
}

/// The signing algorithm the bench uses for a key spec.
fn signing_algorithm(key_spec: &str) -> Result<&'static str, Failure> {
    Ok(match key_spec {
        "ECC_NIST_P256" | "ECC_SECG_P256K1" => "ECDSA_SHA_256",
        "ECC_NIST_P384" => "ECDSA_SHA_384",
        "ECC_NIST_P521" => "ECDSA_SHA_512",
        "RSA_2048" | "RSA_3072" | "RSA_4096" => "RSASSA_PSS_SHA_256",
        other => {
            return Err(Failure::Setup(format!(
                "--key-spec {other} cannot sign here; use ECC_NIST_P256, ECC_NIST_P384, \
                 ECC_NIST_P521, ECC_SECG_P256K1 or RSA_2048/3072/4096"
            )));
        }
    })
}

impl Settings {
    /// Whether the run signs (and so needs asymmetric keys) rather than encrypts.
    fn signs(&self) -> bool {
        self.op == Op::Sign
    }

    /// The CreateKey body for this run's keys.
    fn create_key_body(&self) -> Bytes {
        if self.signs() {
            body(&json!({"KeySpec": self.key_spec, "KeyUsage": "SIGN_VERIFY",
                "Description": "strongbox-bench"}))
        } else {
            body(&json!({"Description": "strongbox-bench"}))
        }
    }
}

/// What every key's bodies are built from.
#[derive(Debug)]
struct Template {
    settings: Settings,
    create_key: Bytes,
    /// Base64 of the random plaintext encrypt sends.
    plaintext: String,
    /// Base64 of the message sign signs.
    message: String,
    signing_algorithm: &'static str,
}

impl Template {
    fn new(settings: &Settings) -> Result<Template, Failure> {
        if !(1..=4096).contains(&settings.size) {
            return Err(Failure::Setup(
                "--size must be 1-4096 bytes (KMS's plaintext limit)".to_owned(),
            ));
        }
        let signing_algorithm = if settings.signs() {
            signing_algorithm(&settings.key_spec)?
        } else {
            "ECDSA_SHA_256"
        };
        let mut plaintext = vec![0_u8; settings.size];
        aws_lc_rs::rand::fill(&mut plaintext)
            .map_err(|_| Failure::Setup("no random bytes".to_owned()))?;
        Ok(Template {
            settings: settings.clone(),
            create_key: settings.create_key_body(),
            plaintext: BASE64.encode(&plaintext),
            message: BASE64.encode(b"strongbox-bench message to sign"),
            signing_algorithm,
        })
    }

    /// Creates the key unless it is given, then builds its bodies; symmetric keys also get a
    /// ciphertext for decrypt, made by the server itself.
    async fn key(
        &self,
        connection: &mut Connection,
        existing: Option<String>,
    ) -> Result<KeyFixture, Failure> {
        let (key_id, canonical_id) = match existing {
            Some(key_id) if self.settings.baseline => (key_id.clone(), key_id),
            None if self.settings.baseline => (BASELINE_KEY.to_owned(), BASELINE_KEY.to_owned()),
            // An alias or an ARN: DescribeKey says which key it is (and that it exists).
            Some(key_id) => {
                let request = body(&json!({"KeyId": key_id}));
                let answer = connection.call("DescribeKey", request).await?;
                let answer = expect_ok(Call::DescribeKey, answer)?;
                let id = parse::<DescribeAnswer>(Call::DescribeKey, &answer.body)?
                    .key_metadata
                    .key_id;
                (key_id, id)
            }
            None => {
                let answer = connection
                    .call("CreateKey", self.create_key.clone())
                    .await?;
                let answer = expect_ok(Call::CreateKey, answer)?;
                let id = parse::<DescribeAnswer>(Call::CreateKey, &answer.body)?
                    .key_metadata
                    .key_id;
                (id.clone(), id)
            }
        };
        let context = encryption_context();
        let encrypt = body(&json!({"KeyId": key_id, "Plaintext": self.plaintext,
            "EncryptionContext": context}));
        let decrypt = if self.settings.signs() {
            Bytes::new()
        } else if self.settings.baseline {
            // What a real ciphertext of this plaintext would weigh (blob header, IV, tag).
            decrypt_body(&key_id, BASE64.encode(vec![0_u8; self.settings.size + 120]))
        } else {
            let answer = connection.call("Encrypt", encrypt.clone()).await?;
            let answer = expect_ok(Call::Encrypt, answer)?;
            decrypt_body(
                &key_id,
                parse::<CiphertextAnswer>(Call::Encrypt, &answer.body)?.ciphertext_blob,
            )
        };
        Ok(KeyFixture {
            data_key: body(&json!({"KeyId": key_id, "KeySpec": "AES_256",
                "EncryptionContext": context})),
            describe: body(&json!({"KeyId": key_id})),
            sign: body(
                &json!({"KeyId": key_id, "Message": self.message, "MessageType": "RAW",
                "SigningAlgorithm": self.signing_algorithm}),
            ),
            encrypt,
            decrypt,
            plaintext: self.plaintext.clone(),
            signing_algorithm: self.signing_algorithm,
            message: self.message.clone(),
            key_id,
            canonical_id,
        })
    }
}

impl Fixture {
    /// Creates `count` keys (or takes the `existing` ones) and prepares each key's bodies,
    /// spreading the work over all connections so that setting up many keys is quick. The
    /// connections are handed back for the run.
    ///
    /// # Errors
    /// The first failure, as [`Failure::Setup`].
    pub async fn prepare(
        connections: Vec<Connection>,
        settings: &Settings,
        count: usize,
        existing: &[String],
    ) -> Result<(Vec<Connection>, Fixture), Failure> {
        let template = std::sync::Arc::new(Template::new(settings)?);
        let total = if existing.is_empty() {
            count
        } else {
            existing.len()
        };
        let workers = connections.len();
        let mut tasks = tokio::task::JoinSet::new();
        for (worker, mut connection) in connections.into_iter().enumerate() {
            let template = template.clone();
            let mine: Vec<(usize, Option<String>)> = (worker..total)
                .step_by(workers)
                .map(|index| (index, existing.get(index).cloned()))
                .collect();
            tasks.spawn(async move {
                let mut keys = Vec::with_capacity(mine.len());
                for (index, existing) in mine {
                    keys.push((index, template.key(&mut connection, existing).await?));
                }
                Ok::<_, Failure>((connection, keys))
            });
        }
        let mut connections = Vec::with_capacity(workers);
        let mut keys = Vec::with_capacity(total);
        while let Some(joined) = tasks.join_next().await {
            let (connection, made) = joined
                .map_err(|err| Failure::Setup(format!("a setup task failed: {err}")))?
                .map_err(|err| match err {
                    Failure::Setup(_) => err,
                    other => Failure::Setup(other.to_string()),
                })?;
            connections.push(connection);
            keys.extend(made);
        }
        // Creation order, so key number i is the same key whatever the task timing.
        keys.sort_by_key(|(index, _)| *index);
        let template = std::sync::Arc::into_inner(template)
            .ok_or_else(|| Failure::Setup("setup tasks still running".to_owned()))?;
        Ok((
            connections,
            Fixture {
                keys: keys.into_iter().map(|(_, key)| key).collect(),
                create_key: template.create_key,
                settings: template.settings,
            },
        ))
    }

    /// The body `call` sends for key number `key`.
    pub fn body(&self, call: Call, key: usize) -> Bytes {
        let fixture = &self.keys[key % self.keys.len()];
        match call {
            Call::Encrypt => fixture.encrypt.clone(),
            Call::Decrypt => fixture.decrypt.clone(),
            Call::GenerateDataKey | Call::GenerateDataKeyWithoutPlaintext => {
                fixture.data_key.clone()
            }
            Call::DescribeKey => fixture.describe.clone(),
            Call::Sign => fixture.sign.clone(),
            Call::CreateKey => self.create_key.clone(),
        }
    }

    /// Whether `check` with `deep` makes a second call for `call` (the others have nothing to
    /// undo: a decrypt is compared with the known plaintext, a description with the key id).
    pub fn can_undo(&self, call: Call) -> bool {
        !self.settings.baseline
            && matches!(
                call,
                Call::Encrypt
                    | Call::GenerateDataKey
                    | Call::GenerateDataKeyWithoutPlaintext
                    | Call::Sign
            )
    }

    /// Checks a successful answer of `call` for key number `key`. `deep` also asks the server
    /// to undo what it did (decrypt the new ciphertext, verify the signature): the correctness
    /// sample, made on the same connection and not timed.
    ///
    /// # Errors
    /// [`Failure::Answer`] for an error answer, [`Failure::Wrong`] for a wrong one.
    pub async fn check(
        &self,
        call: Call,
        key: usize,
        answer: Answer,
        deep: bool,
        connection: &mut Connection,
    ) -> Result<(), Failure> {
        let answer = expect_ok(call, answer)?;
        if self.settings.baseline {
            return Ok(());
        }
        let fixture = &self.keys[key % self.keys.len()];
        match call {
            Call::Encrypt => {
                let blob = parse::<CiphertextAnswer>(call, &answer.body)?.ciphertext_blob;
                if deep {
                    decrypts_to(connection, &fixture.key_id, blob, &fixture.plaintext)
                        .await
                        .map_err(|failure| not_undone(call, failure))?;
                }
            }
            Call::Decrypt => {
                let plaintext = parse::<PlaintextAnswer>(call, &answer.body)?.plaintext;
                if plaintext != fixture.plaintext {
                    return Err(wrong(call, "the plaintext differs from what was encrypted"));
                }
            }
            Call::GenerateDataKey => {
                let answer = parse::<DataKeyAnswer>(call, &answer.body)?;
                let plaintext = answer
                    .plaintext
                    .ok_or_else(|| wrong(call, "no Plaintext"))?;
                if BASE64.decode(&plaintext).map(|key| key.len()) != Ok(32) {
                    return Err(wrong(call, "the data key is not 32 bytes"));
                }
                if deep {
                    decrypts_to(
                        connection,
                        &fixture.key_id,
                        answer.ciphertext_blob,
                        &plaintext,
                    )
                    .await
                    .map_err(|failure| not_undone(call, failure))?;
                }
            }
            Call::GenerateDataKeyWithoutPlaintext => {
                let answer = parse::<DataKeyAnswer>(call, &answer.body)?;
                if answer.plaintext.is_some() {
                    return Err(wrong(call, "a Plaintext was returned"));
                }
                if deep {
                    let body = decrypt_body(&fixture.key_id, answer.ciphertext_blob);
                    let undo = async {
                        let answer =
                            expect_ok(Call::Decrypt, connection.call("Decrypt", body).await?)?;
                        let plaintext =
                            parse::<PlaintextAnswer>(Call::Decrypt, &answer.body)?.plaintext;
                        if BASE64.decode(&plaintext).map(|key| key.len()) != Ok(32) {
                            return Err(wrong(
                                call,
                                "the data key decrypts to other than 32 bytes",
                            ));
                        }
                        Ok(())
                    };
                    undo.await.map_err(|failure| not_undone(call, failure))?;
                }
            }
            Call::DescribeKey => {
                let answer = parse::<DescribeAnswer>(call, &answer.body)?;
                if answer.key_metadata.key_id != fixture.canonical_id {
                    return Err(wrong(call, "KeyMetadata describes another key"));
                }
            }
            Call::Sign => {
                let signature = parse::<SignAnswer>(call, &answer.body)?.signature;
                if deep {
                    let body = body(&json!({"KeyId": fixture.key_id, "Message": fixture.message,
                        "MessageType": "RAW", "Signature": signature,
                        "SigningAlgorithm": fixture.signing_algorithm}));
                    let undo = async {
                        let answer = expect_ok(call, connection.call("Verify", body).await?)?;
                        if !parse::<VerifyAnswer>(call, &answer.body)?.signature_valid {
                            return Err(wrong(call, "Verify says the signature is invalid"));
                        }
                        Ok(())
                    };
                    undo.await.map_err(|failure| not_undone(call, failure))?;
                }
            }
            Call::CreateKey => {
                parse::<DescribeAnswer>(call, &answer.body)?;
            }
        }
        Ok(())
    }

    /// The settings the fixture was prepared for.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }
}

fn decrypt_body(key_id: &str, blob: String) -> Bytes {
    body(&json!({"KeyId": key_id, "CiphertextBlob": blob,
        "EncryptionContext": encryption_context()}))
}

async fn decrypts_to(
    connection: &mut Connection,
    key_id: &str,
    blob: String,
    plaintext: &str,
) -> Result<(), Failure> {
    let answer = expect_ok(
        Call::Decrypt,
        connection
            .call("Decrypt", decrypt_body(key_id, blob))
            .await?,
    )?;
    if parse::<PlaintextAnswer>(Call::Decrypt, &answer.body)?.plaintext != plaintext {
        return Err(wrong(
            Call::Decrypt,
            "the new ciphertext decrypts to another plaintext",
        ));
    }
    Ok(())
}

/// A second call that fails means the first answer cannot be undone: a wrong answer, whatever
/// the error (AWS answers a bad signature or a foreign ciphertext with an error, not with
/// `false`). A broken connection stays what it is.
fn not_undone(call: Call, failure: Failure) -> Failure {
    match failure {
        Failure::Answer { .. } => wrong(call, &format!("the answer cannot be undone: {failure}")),
        other => other,
    }
}

fn expect_ok(call: Call, answer: Answer) -> Result<Answer, Failure> {
    if answer.status == 200 {
        Ok(answer)
    } else {
        Err(Failure::Answer {
            operation: call.operation(),
            status: answer.status,
            body: String::from_utf8_lossy(&answer.body).into_owned(),
        })
    }
}

fn parse<'a, T: Deserialize<'a>>(call: Call, body: &'a [u8]) -> Result<T, Failure> {
    serde_json::from_slice(body).map_err(|err| wrong(call, &format!("unexpected body: {err}")))
}

fn wrong(call: Call, what: &str) -> Failure {
    Failure::Wrong {
        operation: call.operation(),
        what: what.to_owned(),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CiphertextAnswer {
    ciphertext_blob: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PlaintextAnswer {
    plaintext: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DataKeyAnswer {
    ciphertext_blob: String,
    plaintext: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DescribeAnswer {
    key_metadata: KeyMetadata,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct KeyMetadata {
    key_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SignAnswer {
    signature: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct VerifyAnswer {
    signature_valid: bool,
}
