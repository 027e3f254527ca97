//! The calls a run makes: what each operation sends, how its answer is checked, and the setup
//! (keys, ciphertexts) it needs. Request bodies are built once per run with the key id left out
//! and completed per call (three copies into one buffer), so that a run over a million keys
//! keeps only the keys' ids in memory.

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
    /// Decrypt ciphertexts that name a key that does not exist (the server's ciphertext with
    /// its key id changed), as a client replaying forged ciphertexts does: each answer must be
    /// `AccessDeniedException`.
    DecryptForged,
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
            Op::DecryptForged => "decrypt-forged",
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
    DecryptForged,
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
            Call::DecryptForged => "Decrypt",
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
            Op::DecryptForged => Call::DecryptForged,
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

/// One key of the run.
#[derive(Debug)]
pub struct KeyFixture {
    /// The key id as given (`--key-id` may be an alias or an ARN) or as created.
    pub key_id: String,
    /// `key_id` as a JSON string, ready to go between a [`Shape`]'s halves.
    quoted_id: String,
    /// The key's id as DescribeKey reports it.
    canonical_id: String,
    /// A Decrypt body for a ciphertext the server made with this key (only for runs that
    /// decrypt).
    decrypt: Option<Bytes>,
}

/// Where a key of the run comes from.
enum KeySource {
    /// CreateKey makes it.
    Create,
    /// `--key-id`: an id, alias or ARN that DescribeKey resolves.
    Given(String),
    /// ListKeys listed it (`--existing-keys`): its id is already canonical.
    Listed(String),
}

/// A request body with the key id left out: `head`, the key id as a JSON string, `tail`.
#[derive(Debug)]
struct Shape {
    head: String,
    tail: String,
}

impl Shape {
    /// Splits the serialized `value` at its `"KeyId"` value, which must be [`Shape::HOLE`].
    fn of(value: &serde_json::Value) -> Shape {
        let text = value.to_string();
        let hole = format!("\"{}\"", Self::HOLE);
        let (head, tail) = text.split_once(&hole).unwrap_or((&text, ""));
        Shape {
            head: head.to_owned(),
            tail: tail.to_owned(),
        }
    }

    const HOLE: &'static str = "strongbox-bench:key-id";

    fn with(&self, quoted_id: &str) -> Bytes {
        let mut body = Vec::with_capacity(self.head.len() + quoted_id.len() + self.tail.len());
        body.extend_from_slice(self.head.as_bytes());
        body.extend_from_slice(quoted_id.as_bytes());
        body.extend_from_slice(self.tail.as_bytes());
        Bytes::from(body)
    }
}

/// The keys of a run and what their calls send.
#[derive(Debug)]
pub struct Fixture {
    pub keys: Vec<KeyFixture>,
    template: Template,
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
    encrypt: Shape,
    data_key: Shape,
    describe: Shape,
    sign: Shape,
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
        let plaintext = BASE64.encode(&plaintext);
        let message = BASE64.encode(b"strongbox-bench message to sign");
        let context = encryption_context();
        let hole = Shape::HOLE;
        Ok(Template {
            settings: settings.clone(),
            create_key: settings.create_key_body(),
            encrypt: Shape::of(&json!({"KeyId": hole, "Plaintext": plaintext,
                "EncryptionContext": context})),
            data_key: Shape::of(&json!({"KeyId": hole, "KeySpec": "AES_256",
                "EncryptionContext": context})),
            describe: Shape::of(&json!({"KeyId": hole})),
            sign: Shape::of(
                &json!({"KeyId": hole, "Message": message, "MessageType": "RAW",
                "SigningAlgorithm": signing_algorithm}),
            ),
            plaintext,
            message,
            signing_algorithm,
        })
    }

    /// Whether the run decrypts, and so needs a ciphertext per key.
    fn decrypts(&self) -> bool {
        matches!(
            self.settings.op,
            Op::Decrypt | Op::Mixed | Op::DecryptForged
        )
    }

    /// Creates, resolves or takes the key; for runs that decrypt, has the server encrypt the
    /// plaintext under it.
    async fn key(
        &self,
        connection: &mut Connection,
        source: KeySource,
    ) -> Result<KeyFixture, Failure> {
        let (key_id, canonical_id) = match source {
            KeySource::Given(key_id) | KeySource::Listed(key_id) if self.settings.baseline => {
                (key_id.clone(), key_id)
            }
            KeySource::Create if self.settings.baseline => {
                (BASELINE_KEY.to_owned(), BASELINE_KEY.to_owned())
            }
            KeySource::Listed(key_id) => (key_id.clone(), key_id),
            // An alias or an ARN: DescribeKey says which key it is (and that it exists).
            KeySource::Given(key_id) => {
                let request = body(&json!({"KeyId": key_id}));
                let answer = connection.call("DescribeKey", request).await?;
                let answer = expect_ok(Call::DescribeKey, answer)?;
                let id = parse::<DescribeAnswer>(Call::DescribeKey, &answer.body)?
                    .key_metadata
                    .key_id;
                (key_id, id)
            }
            KeySource::Create => {
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
        let quoted_id = serde_json::Value::from(key_id.as_str()).to_string();
        let decrypt = if !self.decrypts() {
            None
        } else if self.settings.baseline {
            // What a real ciphertext of this plaintext would weigh (blob header, IV, tag).
            let blob = BASE64.encode(vec![0_u8; self.settings.size + 120]);
            Some(decrypt_body(&key_id, blob))
        } else {
            let encrypt = self.encrypt.with(&quoted_id);
            let answer = connection.call("Encrypt", encrypt).await?;
            let answer = expect_ok(Call::Encrypt, answer)?;
            let blob = parse::<CiphertextAnswer>(Call::Encrypt, &answer.body)?.ciphertext_blob;
            if self.settings.op == Op::DecryptForged {
                Some(forged_decrypt_body(&blob)?)
            } else {
                Some(decrypt_body(&key_id, blob))
            }
        };
        Ok(KeyFixture {
            key_id,
            quoted_id,
            canonical_id,
            decrypt,
        })
    }
}

/// Up to `count` ids of the caller's keys, from ListKeys.
async fn list_keys(connection: &mut Connection, count: usize) -> Result<Vec<String>, Failure> {
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Listed {
        keys: Vec<KeyMetadata>,
        next_marker: Option<String>,
        #[serde(default)]
        truncated: bool,
    }
    let mut ids = Vec::new();
    let mut marker: Option<String> = None;
    while ids.len() < count {
        let limit = (count - ids.len()).min(1000);
        let request = match &marker {
            Some(marker) => json!({"Limit": limit, "Marker": marker}),
            None => json!({"Limit": limit}),
        };
        let answer = connection.call("ListKeys", body(&request)).await?;
        let answer = answered("ListKeys", answer)?;
        let page: Listed = serde_json::from_slice(&answer.body).map_err(|err| Failure::Wrong {
            operation: "ListKeys",
            what: format!("unexpected body: {err}"),
        })?;
        ids.extend(page.keys.into_iter().map(|key| key.key_id));
        match page.next_marker {
            Some(next) if page.truncated => marker = Some(next),
            _ => break,
        }
    }
    ids.truncate(count);
    Ok(ids)
}

impl Fixture {
    /// Sets up `count` keys: the `given` ones (`--key-id`) if any, else the caller's existing
    /// keys when `existing` (`--existing-keys`) and new ones for the rest. The work is spread
    /// over all connections, which are handed back for the run.
    ///
    /// # Errors
    /// The first failure, as [`Failure::Setup`].
    pub async fn prepare(
        mut connections: Vec<Connection>,
        settings: &Settings,
        count: usize,
        given: &[String],
        existing: bool,
    ) -> Result<(Vec<Connection>, Fixture), Failure> {
        let template = std::sync::Arc::new(Template::new(settings)?);
        let mut sources: Vec<KeySource> = if !given.is_empty() {
            given.iter().cloned().map(KeySource::Given).collect()
        } else if existing && !settings.baseline {
            let first = connections
                .first_mut()
                .ok_or_else(|| Failure::Setup("no connection".to_owned()))?;
            let listed = list_keys(first, count).await.map_err(setup)?;
            listed.into_iter().map(KeySource::Listed).collect()
        } else {
            Vec::new()
        };
        if given.is_empty() {
            sources.resize_with(count, || KeySource::Create);
        }
        let total = sources.len();
        let workers = connections.len();
        let mut shares: Vec<Vec<(usize, KeySource)>> = (0..workers).map(|_| Vec::new()).collect();
        for (index, source) in sources.into_iter().enumerate() {
            shares[index % workers].push((index, source));
        }
        let mut tasks = tokio::task::JoinSet::new();
        for (mut connection, mine) in connections.into_iter().zip(shares) {
            let template = template.clone();
            tasks.spawn(async move {
                let mut keys = Vec::with_capacity(mine.len());
                for (index, source) in mine {
                    keys.push((index, template.key(&mut connection, source).await?));
                }
                Ok::<_, Failure>((connection, keys))
            });
        }
        let mut connections = Vec::with_capacity(workers);
        let mut keys = Vec::with_capacity(total);
        while let Some(joined) = tasks.join_next().await {
            let (connection, made) = joined
                .map_err(|err| Failure::Setup(format!("a setup task failed: {err}")))?
                .map_err(setup)?;
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
                template,
            },
        ))
    }

    /// Makes one call of the run's operation with every key, spread over the connections and
    /// not measured: the warm-up that leaves no key cold. Returns the connections and how long
    /// it took.
    ///
    /// # Errors
    /// The first failed call, as [`Failure::Setup`].
    pub async fn touch_each_key(
        self: &std::sync::Arc<Self>,
        connections: Vec<Connection>,
    ) -> Result<(Vec<Connection>, std::time::Duration), Failure> {
        let started = std::time::Instant::now();
        let workers = connections.len();
        let call = Call::pick(self.template.settings.op, 0);
        let mut tasks = tokio::task::JoinSet::new();
        for (worker, mut connection) in connections.into_iter().enumerate() {
            let fixture = std::sync::Arc::clone(self);
            tasks.spawn(async move {
                for key in (worker..fixture.keys.len()).step_by(workers) {
                    let answer = connection
                        .call(call.operation(), fixture.body(call, key))
                        .await?;
                    expect_ok(call, answer)?;
                }
                Ok::<_, Failure>(connection)
            });
        }
        let mut connections = Vec::with_capacity(workers);
        while let Some(joined) = tasks.join_next().await {
            let connection = joined
                .map_err(|err| Failure::Setup(format!("a warm-up task failed: {err}")))?
                .map_err(setup)?;
            connections.push(connection);
        }
        Ok((connections, started.elapsed()))
    }

    /// The body `call` sends for key number `key`.
    pub fn body(&self, call: Call, key: usize) -> Bytes {
        let fixture = &self.keys[key % self.keys.len()];
        let template = &self.template;
        let shape = match call {
            Call::Encrypt => &template.encrypt,
            Call::Decrypt | Call::DecryptForged => {
                return fixture.decrypt.clone().unwrap_or_default();
            }
            Call::GenerateDataKey | Call::GenerateDataKeyWithoutPlaintext => &template.data_key,
            Call::DescribeKey => &template.describe,
            Call::Sign => &template.sign,
            Call::CreateKey => return template.create_key.clone(),
        };
        shape.with(&fixture.quoted_id)
    }

    /// Whether `check` with `deep` makes a second call for `call` (the others have nothing to
    /// undo: a decrypt is compared with the known plaintext, a description with the key id).
    pub fn can_undo(&self, call: Call) -> bool {
        !self.template.settings.baseline
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
        if call == Call::DecryptForged && !self.template.settings.baseline {
            return refused_as_forged(answer);
        }
        let answer = expect_ok(call, answer)?;
        let template = &self.template;
        if template.settings.baseline {
            return Ok(());
        }
        let fixture = &self.keys[key % self.keys.len()];
        match call {
            Call::Encrypt => {
                let blob = parse::<CiphertextAnswer>(call, &answer.body)?.ciphertext_blob;
                if deep {
                    decrypts_to(connection, &fixture.key_id, blob, &template.plaintext)
                        .await
                        .map_err(|failure| not_undone(call, failure))?;
                }
            }
            Call::Decrypt => {
                let plaintext = parse::<PlaintextAnswer>(call, &answer.body)?.plaintext;
                if plaintext != template.plaintext {
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
                    let body = body(
                        &json!({"KeyId": fixture.key_id, "Message": template.message,
                        "MessageType": "RAW", "Signature": signature,
                        "SigningAlgorithm": template.signing_algorithm}),
                    );
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
            Call::DecryptForged => {}
        }
        Ok(())
    }

    /// The settings the fixture was prepared for.
    pub fn settings(&self) -> &Settings {
        &self.template.settings
    }
}

/// A Decrypt body for `blob` with its key id (bytes 1 to 16 of the blob) changed, and no
/// KeyId member: a ciphertext of a key that does not exist.
fn forged_decrypt_body(blob: &str) -> Result<Bytes, Failure> {
    let mut bytes = BASE64
        .decode(blob)
        .map_err(|_| Failure::Setup("Encrypt answered a blob that is not base64".to_owned()))?;
    if bytes.len() < 17 {
        return Err(Failure::Setup("Encrypt answered a short blob".to_owned()));
    }
    for byte in &mut bytes[1..17] {
        *byte ^= 0x5a;
    }
    Ok(body(&json!({"CiphertextBlob": BASE64.encode(bytes),
        "EncryptionContext": encryption_context()})))
}

/// A forged ciphertext's answer: `AccessDeniedException` (HTTP 400), as AWS answers a
/// ciphertext whose key the caller may not use; anything else is wrong.
fn refused_as_forged(answer: Answer) -> Result<(), Failure> {
    let denied = answer.status == 400
        && serde_json::from_slice::<serde_json::Value>(&answer.body)
            .is_ok_and(|error| error["__type"] == "AccessDeniedException");
    if denied {
        Ok(())
    } else {
        Err(Failure::Answer {
            operation: "Decrypt",
            status: answer.status,
            body: String::from_utf8_lossy(&answer.body).into_owned(),
        })
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

/// A failure during setup, whatever its kind, so that the run exits with status 2.
fn setup(failure: Failure) -> Failure {
    match failure {
        Failure::Setup(_) => failure,
        other => Failure::Setup(other.to_string()),
    }
}

fn expect_ok(call: Call, answer: Answer) -> Result<Answer, Failure> {
    answered(call.operation(), answer)
}

fn answered(operation: &'static str, answer: Answer) -> Result<Answer, Failure> {
    if answer.status == 200 {
        Ok(answer)
    } else {
        Err(Failure::Answer {
            operation,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_completed_shape_is_the_body_serialized_with_the_key_id() {
        let context = encryption_context();
        let shape = Shape::of(&json!({"KeyId": Shape::HOLE, "Plaintext": "AAEC",
            "EncryptionContext": context}));
        for key_id in ["1234abcd-12ab-34cd-56ef-1234567890ab", "alias/with\"quote"] {
            let quoted = serde_json::Value::from(key_id).to_string();
            let body: serde_json::Value = serde_json::from_slice(&shape.with(&quoted)).unwrap();
            assert_eq!(
                body,
                json!({"KeyId": key_id, "Plaintext": "AAEC", "EncryptionContext": context})
            );
        }
    }
}
