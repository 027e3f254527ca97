//! The PKCS#11 seal's wrapper: an AES-256 key that never leaves the token (generated there
//! non-extractable and sensitive, or made by the HSM's operators under the same label) wraps
//! the root keys with AES-GCM inside the token. Strongbox holds only a session.
//!
//! A wrapped root key is `IV (12) | ciphertext | tag (16)`; the IV is random (few values are
//! ever wrapped under the key), the AAD is the seal's binding. SoftHSM2 is the token in tests;
//! a network HSM is used the same way through its vendor's PKCS#11 module.

use std::path::Path;
use std::sync::Mutex;

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Function, Pkcs11};
use cryptoki::error::{Error, RvError};
use cryptoki::mechanism::{Mechanism, aead::GcmParams};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;
use strongbox_core::SealError;
use strongbox_crypto::SecretBytes;

use crate::wrapped::RootWrapper;

const IV_LEN: usize = 12;
const TAG_BITS: u64 = 128;

/// A logged-in session on the token and the wrapping key's handle, reopened when the token
/// loses them (an HSM restarted, a network HSM's connection dropped, a token re-inserted):
/// the PIN is kept (zeroized on drop) so that a long-running server recovers by itself.
pub struct Pkcs11Wrapper {
    context: Pkcs11,
    token_label: String,
    key_label: String,
    pin: SecretBytes,
    open: Mutex<Option<Opened>>,
}

/// What one login gives: a session and the key's handle in it (handles do not outlive the
/// session's token state, so both are found again together).
struct Opened {
    session: Session,
    key: ObjectHandle,
}

fn backend(what: &str, error: impl std::fmt::Display) -> SealError {
    SealError::Backend(format!("PKCS#11 {what}: {error}"))
}

/// Errors after which the session (or the library's state) is gone but a new login may work.
fn session_lost(error: &Error) -> bool {
    matches!(
        error,
        Error::Pkcs11(
            RvError::CryptokiNotInitialized
                | RvError::SessionHandleInvalid
                | RvError::SessionClosed
                | RvError::DeviceRemoved
                | RvError::DeviceError
                | RvError::TokenNotPresent
                | RvError::TokenNotRecognized
                | RvError::SlotIdInvalid
                | RvError::UserNotLoggedIn
                | RvError::KeyHandleInvalid
                | RvError::ObjectHandleInvalid,
            _
        )
    )
}

/// Errors after which the session's handle means nothing to the library any more.
fn handle_gone(error: &Error) -> bool {
    matches!(
        error,
        Error::Pkcs11(
            RvError::CryptokiNotInitialized
                | RvError::SessionHandleInvalid
                | RvError::SessionClosed,
            _
        )
    )
}

impl Pkcs11Wrapper {
    /// Loads `module`, finds the token labelled `token_label`, logs in with `pin`, and finds
    /// the AES key labelled `key_label`; with `create`, generates it on the token (non-
    /// extractable) when there is none.
    pub fn open(
        module: &Path,
        token_label: &str,
        key_label: &str,
        pin: &SecretBytes,
        create: bool,
    ) -> Result<Self, SealError> {
        check_module(module)?;
        let context = Pkcs11::new(module)
            .map_err(|error| backend(&format!("module {}", module.display()), error))?;
        std::str::from_utf8(pin.expose())
            .map_err(|_| SealError::Backend("PKCS#11: the PIN is not UTF-8 text".into()))?;
        let wrapper = Self {
            context,
            token_label: token_label.to_owned(),
            key_label: key_label.to_owned(),
            pin: SecretBytes::new(pin.expose().to_vec()),
            open: Mutex::new(None),
        };
        let opened = wrapper.login(create)?;
        *wrapper.opened() = Some(opened);
        Ok(wrapper)
    }

    /// Initialises the library (if it is not), finds the token by label (its slot may have
    /// changed), opens a session, logs in, and finds (or with `create`, generates) the key.
    fn login(&self, create: bool) -> Result<Opened, SealError> {
        let (context, token_label, key_label) = (&self.context, &self.token_label, &self.key_label);
        match context.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
            Ok(()) | Err(Error::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
            Err(error) => return Err(backend("initialisation", error)),
        }
        let slots = context
            .get_slots_with_token()
            .map_err(|error| backend("slots", error))?;
        let slot = slots
            .into_iter()
            .find(|slot| {
                context
                    .get_token_info(*slot)
                    .is_ok_and(|info| info.label() == token_label)
            })
            .ok_or_else(|| {
                SealError::Backend(format!("PKCS#11: no token labelled {token_label:?}"))
            })?;
        let session = context
            .open_rw_session(slot)
            .map_err(|error| backend("session", error))?;
        let pin = std::str::from_utf8(self.pin.expose())
            .map_err(|_| SealError::Backend("PKCS#11: the PIN is not UTF-8 text".into()))?;
        match session.login(UserType::User, Some(&AuthPin::from(pin))) {
            Ok(()) | Err(Error::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
            Err(Error::Pkcs11(RvError::PinIncorrect, Function::Login)) => {
                return Err(SealError::Backend(format!(
                    "PKCS#11: the token {token_label:?} refused the PIN (CKR_PIN_INCORRECT)"
                )));
            }
            Err(Error::Pkcs11(RvError::PinLocked, _)) => {
                return Err(SealError::Backend(format!(
                    "PKCS#11: the token {token_label:?} has locked its user PIN (CKR_PIN_LOCKED)"
                )));
            }
            Err(error) => return Err(backend("login", error)),
        }
        let template = [
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::Label(key_label.as_bytes().to_vec()),
        ];
        let found = session
            .find_objects(&template)
            .map_err(|error| backend("key lookup", error))?;
        let key = match found.as_slice() {
            [key] => *key,
            [] if create => session
                .generate_key(
                    &Mechanism::AesKeyGen,
                    &[
                        Attribute::Class(ObjectClass::SECRET_KEY),
                        Attribute::KeyType(KeyType::AES),
                        Attribute::Token(true),
                        Attribute::Private(true),
                        Attribute::Sensitive(true),
                        Attribute::Extractable(false),
                        Attribute::Encrypt(true),
                        Attribute::Decrypt(true),
                        Attribute::ValueLen(32.into()),
                        Attribute::Label(key_label.as_bytes().to_vec()),
                    ],
                )
                .map_err(|error| backend("key generation", error))?,
            [] => {
                return Err(SealError::Backend(format!(
                    "PKCS#11: no key labelled {key_label:?} on the token {token_label:?}"
                )));
            }
            _ => {
                return Err(SealError::Backend(format!(
                    "PKCS#11: several keys are labelled {key_label:?} on the token {token_label:?}"
                )));
            }
        };
        check_key(&session, key, key_label)?;
        Ok(Opened { session, key })
    }

    fn opened(&self) -> std::sync::MutexGuard<'_, Option<Opened>> {
        self.open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `call` on the session; when the token has lost the session (or its state), logs
    /// in again and retries once. The outer error is a failed login (the next call tries
    /// again); the inner one is the call's own, for the caller to read.
    fn with_session<T>(
        &self,
        call: impl Fn(&Session, ObjectHandle) -> Result<T, Error>,
    ) -> Result<Result<T, Error>, SealError> {
        let mut open = self.opened();
        if let Some(opened) = open.as_ref() {
            match call(&opened.session, opened.key) {
                Err(error) if session_lost(&error) => {
                    let lost = open.take();
                    if handle_gone(&error) {
                        // The token no longer knows the handle, and its number may already
                        // be another session's (another wrapper on this module): never close
                        // it. Forgetting leaks a few bytes, once per lost session.
                        std::mem::forget(lost);
                    }
                    // Otherwise (the device erred, the login lapsed) the session is closed
                    // before a new one is opened.
                }
                done => return Ok(done),
            }
        }
        let opened = self.login(false)?;
        let result = call(&opened.session, opened.key);
        *open = Some(opened);
        Ok(result)
    }
}

/// The module is loaded into the server and handed the PIN: it must belong to root and be
/// writable by no one else, so that whoever can write the data directory (which names it)
/// cannot point it at a library of their own.
fn check_module(module: &Path) -> Result<(), SealError> {
    use std::os::unix::fs::MetadataExt;
    let metadata = std::fs::metadata(module)
        .map_err(|error| backend(&format!("module {}", module.display()), error))?;
    if metadata.uid() != 0 || metadata.mode() & 0o022 != 0 {
        return Err(SealError::Backend(format!(
            "PKCS#11 module {} must belong to root and be writable by no one else (it is loaded into the server and given the PIN)",
            module.display()
        )));
    }
    Ok(())
}

/// The wrapping key must be an AES key the token keeps to itself (sensitive, not
/// extractable): one made by the HSM's operators under the label is checked too.
fn check_key(session: &Session, key: ObjectHandle, label: &str) -> Result<(), SealError> {
    let attributes = session
        .get_attributes(
            key,
            &[
                AttributeType::KeyType,
                AttributeType::Sensitive,
                AttributeType::Extractable,
            ],
        )
        .map_err(|error| backend("key attributes", error))?;
    let proper = attributes.iter().all(|attribute| match attribute {
        Attribute::KeyType(kind) => *kind == KeyType::AES,
        Attribute::Sensitive(sensitive) => *sensitive,
        Attribute::Extractable(extractable) => !*extractable,
        _ => true,
    }) && attributes.len() == 3;
    if proper {
        Ok(())
    } else {
        Err(SealError::Backend(format!(
            "PKCS#11: the key labelled {label:?} must be an AES key that is sensitive and not extractable"
        )))
    }
}

impl RootWrapper for Pkcs11Wrapper {
    fn wrap(&self, aad: &[u8], root: &[u8]) -> Result<Vec<u8>, SealError> {
        let iv = strongbox_crypto::random_bytes(IV_LEN).map_err(|error| backend("IV", error))?;
        let sealed = self
            .with_session(|session, key| {
                let mut iv = iv.expose().to_vec();
                let params = GcmParams::new(&mut iv, aad, TAG_BITS.into())?;
                session.encrypt(&Mechanism::AesGcm(params), key, root)
            })?
            .map_err(|error| backend("encrypt", error))?;
        let mut out = iv.expose().to_vec();
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    fn unwrap(&self, aad: &[u8], wrapped: &[u8]) -> Result<SecretBytes, SealError> {
        if wrapped.len() < IV_LEN + 16 {
            return Err(SealError::Unseal);
        }
        let (iv, sealed) = wrapped.split_at(IV_LEN);
        match self.with_session(|session, key| {
            let mut iv = iv.to_vec();
            let params = GcmParams::new(&mut iv, aad, TAG_BITS.into())?;
            session.decrypt(&Mechanism::AesGcm(params), key, sealed)
        })? {
            Ok(root) => Ok(SecretBytes::new(root)),
            // SoftHSM 2.6 answers CKR_GENERAL_ERROR to a wrong tag, later versions
            // CKR_ENCRYPTED_DATA_INVALID: both mean the value does not authenticate.
            Err(Error::Pkcs11(
                RvError::EncryptedDataInvalid
                | RvError::GeneralError
                | RvError::EncryptedDataLenRange,
                _,
            )) => Err(SealError::Unseal),
            Err(error) => Err(backend("decrypt", error)),
        }
    }
}
