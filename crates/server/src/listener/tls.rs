//! TLS with rustls (aws-lc-rs): a server certificate read from PEM files and replaced in place
//! when the server is asked to reload (SIGHUP), so a renewed certificate takes effect without
//! dropping a connection; ALPN offers HTTP/2 and HTTP/1.1.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use rustls::ServerConfig;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

/// Where the certificate chain and its private key are (PEM).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    /// The server certificate, then any intermediates.
    pub cert: PathBuf,
    /// The private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// The TLS side of the listener.
pub struct Tls {
    files: TlsFiles,
    current: Arc<RwLock<Arc<CertifiedKey>>>,
    acceptor: TlsAcceptor,
}

impl fmt::Debug for Tls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tls").field("files", &self.files).finish()
    }
}

/// Hands every handshake the certificate of the moment.
#[derive(Debug)]
struct Current(Arc<RwLock<Arc<CertifiedKey>>>);

impl ResolvesServerCert for Current {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.0.read().ok().map(|current| Arc::clone(&current))
    }
}

impl Tls {
    /// Reads the files and builds the acceptor.
    ///
    /// # Errors
    /// A message naming the file that is missing, unreadable or not what it should be, or a key
    /// that does not belong to the certificate.
    pub fn load(files: TlsFiles) -> Result<Self, String> {
        let current = Arc::new(RwLock::new(Arc::new(certified_key(&files)?)));
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|error| format!("TLS: {error}"))?
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(Current(Arc::clone(&current))));
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Self {
            files,
            current,
            acceptor: TlsAcceptor::from(Arc::new(config)),
        })
    }

    /// Reads the files again and serves the new certificate to new handshakes; connections
    /// already open keep theirs. On error the old certificate stays.
    ///
    /// # Errors
    /// As [`Tls::load`].
    pub fn reload(&self) -> Result<(), String> {
        let fresh = Arc::new(certified_key(&self.files)?);
        let mut current = self
            .current
            .write()
            .map_err(|_| "TLS certificate lock poisoned".to_owned())?;
        *current = fresh;
        Ok(())
    }

    /// The acceptor for new connections.
    pub fn acceptor(&self) -> &TlsAcceptor {
        &self.acceptor
    }

    /// The files this reads.
    pub fn files(&self) -> &TlsFiles {
        &self.files
    }
}

fn certified_key(files: &TlsFiles) -> Result<CertifiedKey, String> {
    let unreadable = |path: &Path, error: &dyn fmt::Display| {
        format!("TLS: cannot read {}: {error}", path.display())
    };
    let chain = CertificateDer::pem_file_iter(&files.cert)
        .map_err(|error| unreadable(&files.cert, &error))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| unreadable(&files.cert, &error))?;
    if chain.is_empty() {
        return Err(format!(
            "TLS: {} holds no PEM certificate",
            files.cert.display()
        ));
    }
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|error| {
        format!(
            "TLS: {} holds no PEM private key ({error})",
            files.key.display()
        )
    })?;
    let provider = rustls::crypto::aws_lc_rs::default_provider();
    let key = provider
        .key_provider
        .load_private_key(key)
        .map_err(|error| format!("TLS: {}: {error}", files.key.display()))?;
    let certified = CertifiedKey::new(chain, key);
    certified.keys_match().map_err(|_| {
        format!(
            "TLS: the private key in {} does not belong to the certificate in {}",
            files.key.display(),
            files.cert.display()
        )
    })?;
    Ok(certified)
}
