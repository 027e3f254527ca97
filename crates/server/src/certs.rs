//! `strongbox tls self-signed`: a private certificate authority and a server certificate it
//! signs, for a secure start without a PKI. Clients trust the CA (`ca.pem`: `--ca-bundle`,
//! `AWS_CA_BUNDLE`); the server serves `server.pem` with `server.key`.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose,
};
use time::OffsetDateTime;

/// The CA certificate clients trust.
pub const CA_FILE: &str = "ca.pem";
/// The server certificate (then the CA, so clients get the whole chain).
pub const CERT_FILE: &str = "server.pem";
/// The server's private key (mode 0600).
pub const KEY_FILE: &str = "server.key";
/// How long the certificates are valid.
const VALIDITY_DAYS: i64 = 825;

/// What was written.
#[derive(Debug)]
pub struct Written {
    /// The CA certificate.
    pub ca: PathBuf,
    /// The server certificate chain.
    pub cert: PathBuf,
    /// The server key.
    pub key: PathBuf,
}

/// Writes a CA and a server certificate for `hosts` (DNS names or IP addresses; `localhost` and
/// `127.0.0.1` when empty) into `out`, which is created if needed. Existing files are not
/// overwritten. The CA's private key is never written: it signs once and is gone, so the CA can
/// vouch for nothing else.
///
/// # Errors
/// A message when a host is not a valid name, a file exists already or cannot be written.
pub fn self_signed(out: &Path, hosts: &[String]) -> Result<Written, String> {
    let hosts: Vec<String> = if hosts.is_empty() {
        vec!["localhost".to_owned(), "127.0.0.1".to_owned()]
    } else {
        hosts.to_vec()
    };
    let failed = |error: rcgen::Error| format!("cannot make the certificates: {error}");
    let now = OffsetDateTime::now_utc();
    let until = now + time::Duration::days(VALIDITY_DAYS);

    let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(failed)?;
    ca.distinguished_name = name("Strongbox local CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    (ca.not_before, ca.not_after) = (now, until);
    let ca =
        CertifiedIssuer::self_signed(ca, KeyPair::generate().map_err(failed)?).map_err(failed)?;

    let mut server = CertificateParams::new(hosts.clone())
        .map_err(|error| format!("host names {hosts:?}: {error}"))?;
    server.distinguished_name = name(&hosts[0]);
    server.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    (server.not_before, server.not_after) = (now, until);
    let server_key = KeyPair::generate().map_err(failed)?;
    let server_cert = server.signed_by(&server_key, &ca).map_err(failed)?;

    std::fs::DirBuilder::new()
        .recursive(true)
        .create(out)
        .map_err(|error| format!("cannot create {}: {error}", out.display()))?;
    let written = Written {
        ca: out.join(CA_FILE),
        cert: out.join(CERT_FILE),
        key: out.join(KEY_FILE),
    };
    for path in [&written.ca, &written.cert, &written.key] {
        if path.exists() {
            return Err(format!(
                "{} exists already; remove it or choose another --out",
                path.display()
            ));
        }
    }
    write_new(&written.key, server_key.serialize_pem().as_bytes(), 0o600)?;
    write_new(
        &written.cert,
        format!("{}{}", server_cert.pem(), ca.pem()).as_bytes(),
        0o644,
    )?;
    write_new(&written.ca, ca.pem().as_bytes(), 0o644)?;
    Ok(written)
}

fn name(common_name: &str) -> DistinguishedName {
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, common_name);
    name.push(DnType::OrganizationName, "Strongbox");
    name
}

fn write_new(path: &Path, content: &[u8], mode: u32) -> Result<(), String> {
    let error = |e: std::io::Error| format!("cannot write {}: {e}", path.display());
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(error)?;
    file.write_all(content).map_err(error)?;
    file.sync_all().map_err(error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::listener::tls::{Tls, TlsFiles};

    #[test]
    fn the_written_pair_loads_and_is_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let written = self_signed(
            dir.path(),
            &["kms.example".to_owned(), "10.0.0.1".to_owned()],
        )
        .unwrap();
        let tls = Tls::load(TlsFiles {
            cert: written.cert.clone(),
            key: written.key.clone(),
        });
        assert!(tls.is_ok(), "{tls:?}");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&written.key)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let again = self_signed(dir.path(), &[]);
        assert!(again.unwrap_err().contains("exists already"));
    }

    #[test]
    fn a_key_of_another_certificate_is_refused() {
        let first = tempfile::tempdir().unwrap();
        let second = tempfile::tempdir().unwrap();
        let a = self_signed(first.path(), &[]).unwrap();
        let b = self_signed(second.path(), &[]).unwrap();
        let mixed = Tls::load(TlsFiles {
            cert: a.cert,
            key: b.key,
        });
        assert!(mixed.unwrap_err().contains("does not belong"));
    }
}
