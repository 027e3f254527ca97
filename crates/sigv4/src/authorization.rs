//! Parsing of the `Authorization` header into its algorithm, credential scope, signed headers
//! and signature.
//!
//! Format: <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-signing-elements.html>.

use std::fmt;

use crate::error::{ParseError, echo, excerpt, redact};

/// The only algorithm SigV4 header authentication defines (SigV4a is out of scope).
pub(crate) const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// The fixed last element of every SigV4 credential scope.
const TERMINATOR: &str = "aws4_request";

/// The `<date>/<region>/<service>/aws4_request` part of the `Credential`: it says which derived
/// signing key the client used, so the verifier derives the same one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CredentialScope {
    /// The signing date, `YYYYMMDD` (eight ASCII digits). It must equal the date of
    /// `x-amz-date`, which [`crate::verify`] checks.
    pub date: String,
    /// The region the client signed for, e.g. `us-east-1`. Not checked here: the server compares
    /// it with the regions it serves.
    pub region: String,
    /// The service the client signed for, e.g. `kms`. Not checked here either.
    pub service: String,
}

impl fmt::Display for CredentialScope {
    /// Writes the scope as it appears in the string to sign:
    /// `20150830/us-east-1/kms/aws4_request`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}/{}/{TERMINATOR}",
            self.date, self.region, self.service
        )
    }
}

/// A parsed `Authorization` header. Parsing checks the syntax only; [`crate::verify`] checks the
/// signature against the request, and the caller checks the access key, region and service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    /// The access key id the client claims to sign with, e.g. `AKIDEXAMPLE`.
    pub access_key_id: String,
    /// The credential scope that follows the access key id in `Credential`.
    pub scope: CredentialScope,
    /// The `SignedHeaders` names in the order given. Clients send them lowercase and sorted, and
    /// the canonical request lists them in the same order, so they are kept as given.
    pub signed_headers: Vec<String>,
    /// The HMAC-SHA256 signature, decoded from hex. Signatures are not secret, but error
    /// messages never echo it.
    pub(crate) signature: [u8; 32],
}

impl Authorization {
    /// Parses the value of the `Authorization` header:
    /// `AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/kms/aws4_request,
    /// SignedHeaders=host;x-amz-date, Signature=<64 hex digits>`.
    ///
    /// Like AWS, it accepts the components in any order and any whitespace around the commas.
    ///
    /// # Errors
    /// A [`ParseError`] naming the first problem found.
    pub fn parse(header_value: &str) -> Result<Authorization, ParseError> {
        let trimmed = header_value.trim();
        let (algorithm, rest) = trimmed
            .split_once(|c: char| c.is_ascii_whitespace())
            .unwrap_or((trimmed, ""));
        if algorithm != ALGORITHM {
            // Without a space after the algorithm the whole header is one word: show the
            // algorithm only up to the first component, so the signature is never echoed.
            let shown = algorithm.split([',', '=']).next().unwrap_or_default();
            return Err(ParseError::UnsupportedAlgorithm {
                algorithm: excerpt(shown),
            });
        }
        let components = Components::split(rest)?;
        let authorization = || components.echo();
        let credential = components
            .credential
            .filter(|value| !value.is_empty())
            .ok_or_else(|| ParseError::MissingCredential {
                authorization: authorization(),
            })?;
        let signed_headers =
            components
                .signed_headers
                .ok_or_else(|| ParseError::MissingSignedHeaders {
                    authorization: authorization(),
                })?;
        let signature = components
            .signature
            .filter(|value| !value.is_empty())
            .ok_or_else(|| ParseError::MissingSignature {
                authorization: authorization(),
            })?;
        let (access_key_id, scope) = parse_credential(credential)?;
        Ok(Authorization {
            access_key_id,
            scope,
            signed_headers: parse_signed_headers(signed_headers)?,
            signature: parse_signature(signature)?,
        })
    }
}

/// The `key=value` components after the algorithm, before their values are parsed.
struct Components<'a> {
    /// Every non-empty component, trimmed, in order; kept to echo the header in messages.
    parts: Vec<&'a str>,
    credential: Option<&'a str>,
    signed_headers: Option<&'a str>,
    signature: Option<&'a str>,
}

impl<'a> Components<'a> {
    /// Splits on commas and sorts the values into their slots, refusing unknown and repeated
    /// names.
    fn split(rest: &'a str) -> Result<Self, ParseError> {
        let parts: Vec<&str> = rest
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .collect();
        let (mut credential, mut signed_headers, mut signature) = (None, None, None);
        for &part in &parts {
            let Some((name, value)) = part.split_once('=') else {
                return Err(ParseError::MalformedComponent {
                    component: redact(part).to_owned(),
                    authorization: echo(&parts),
                });
            };
            let name = name.trim_end();
            let slot = match name {
                "Credential" => &mut credential,
                "SignedHeaders" => &mut signed_headers,
                "Signature" => &mut signature,
                other => {
                    return Err(ParseError::UnknownComponent {
                        component: excerpt(other),
                        authorization: echo(&parts),
                    });
                }
            };
            if slot.replace(value.trim_start()).is_some() {
                return Err(ParseError::DuplicateComponent {
                    component: name.to_owned(),
                    authorization: echo(&parts),
                });
            }
        }
        Ok(Components {
            parts,
            credential,
            signed_headers,
            signature,
        })
    }

    /// The header as AWS echoes it in its messages; see [`echo`].
    fn echo(&self) -> String {
        echo(&self.parts)
    }
}

/// Splits `AKID/date/region/service/aws4_request` into the access key id and the scope.
fn parse_credential(credential: &str) -> Result<(String, CredentialScope), ParseError> {
    let malformed = || ParseError::MalformedCredential {
        credential: excerpt(credential),
    };
    let elements: Vec<&str> = credential.split('/').collect();
    let [access_key_id, date, region, service, terminator] = elements[..] else {
        return Err(malformed());
    };
    if elements.iter().any(|element| element.is_empty()) {
        return Err(malformed());
    }
    if date.len() != 8 || !date.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParseError::MalformedScopeDate {
            date: excerpt(date),
        });
    }
    if terminator != TERMINATOR {
        return Err(ParseError::InvalidTerminator {
            terminator: excerpt(terminator),
        });
    }
    let scope = CredentialScope {
        date: date.to_owned(),
        region: region.to_owned(),
        service: service.to_owned(),
    };
    Ok((access_key_id.to_owned(), scope))
}

/// Splits `host;x-amz-date` into names. An empty value gives an empty list, which
/// [`crate::verify`] refuses because `host` is not signed; an empty name or one with characters
/// that no HTTP header name may contain is refused here.
fn parse_signed_headers(signed_headers: &str) -> Result<Vec<String>, ParseError> {
    if signed_headers.is_empty() {
        return Ok(Vec::new());
    }
    let names: Vec<String> = signed_headers.split(';').map(str::to_owned).collect();
    let valid = names
        .iter()
        .all(|name| http::HeaderName::from_bytes(name.as_bytes()).is_ok());
    if !valid {
        return Err(ParseError::MalformedSignedHeaders {
            signed_headers: excerpt(signed_headers),
        });
    }
    Ok(names)
}

/// Decodes the 64 hex digits of the signature.
fn parse_signature(signature: &str) -> Result<[u8; 32], ParseError> {
    let mut bytes = [0_u8; 32];
    hex::decode_to_slice(signature, &mut bytes).map_err(|_| ParseError::MalformedSignature)?;
    Ok(bytes)
}

// The tests below are about half of this file (over the ~400-line guideline): one or more per
// ParseError variant, kept next to the parser they pin down.
#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/\
        aws4_request, SignedHeaders=host;x-amz-date, \
        Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";
    const SIGNATURE: &str = "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";
    const CREDENTIAL: &str = "Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request";

    fn header(components: &[&str]) -> String {
        format!("AWS4-HMAC-SHA256 {}", components.join(", "))
    }

    #[test]
    fn parses_the_documented_example() {
        let auth = Authorization::parse(VALID).unwrap();
        assert_eq!(auth.access_key_id, "AKIDEXAMPLE");
        assert_eq!(
            auth.scope,
            CredentialScope {
                date: "20150830".into(),
                region: "us-east-1".into(),
                service: "service".into()
            }
        );
        assert_eq!(
            auth.scope.to_string(),
            "20150830/us-east-1/service/aws4_request"
        );
        assert_eq!(auth.signed_headers, ["host", "x-amz-date"]);
        assert_eq!(hex::encode(auth.signature), SIGNATURE);
    }

    #[test]
    fn accepts_any_order_and_whitespace() {
        let reordered = format!(
            "AWS4-HMAC-SHA256   Signature={SIGNATURE},SignedHeaders=host;x-amz-date,\t  {CREDENTIAL}  "
        );
        assert_eq!(
            Authorization::parse(&reordered),
            Authorization::parse(VALID)
        );
    }

    #[test]
    fn refuses_other_algorithms() {
        let err = Authorization::parse(&VALID.replace("SHA256", "SHA512")).unwrap_err();
        assert_eq!(
            err,
            ParseError::UnsupportedAlgorithm {
                algorithm: "AWS4-HMAC-SHA512".into()
            }
        );
        assert!(matches!(
            Authorization::parse("AWS4-HMAC-SHA256"),
            Err(ParseError::MissingCredential { .. })
        ));
        assert!(matches!(
            Authorization::parse(""),
            Err(ParseError::UnsupportedAlgorithm { .. })
        ));
        let glued = format!("AWS4-HMAC-SHA256Signature={SIGNATURE},{CREDENTIAL}");
        assert_eq!(
            Authorization::parse(&glued),
            Err(ParseError::UnsupportedAlgorithm {
                algorithm: "AWS4-HMAC-SHA256Signature".into()
            })
        );
    }

    #[test]
    fn names_each_missing_component_without_echoing_the_signature() {
        let signature = format!("Signature={SIGNATURE}");
        let cases = [
            (header(&["SignedHeaders=host", &signature]), "'Credential'"),
            (header(&[CREDENTIAL, &signature]), "'SignedHeaders'"),
            (header(&[CREDENTIAL, "SignedHeaders=host"]), "'Signature'"),
            (
                header(&["Credential=", "SignedHeaders=host", &signature]),
                "'Credential'",
            ),
            (
                header(&[CREDENTIAL, "SignedHeaders=host", "Signature="]),
                "'Signature'",
            ),
        ];
        for (value, name) in cases {
            let err = Authorization::parse(&value).unwrap_err();
            let message = err.to_string();
            assert!(
                message.starts_with(&format!("Authorization header requires {name} parameter.")),
                "{message}"
            );
            assert!(
                message.contains("Authorization=AWS4-HMAC-SHA256 "),
                "{message}"
            );
            assert!(!message.contains(SIGNATURE), "{message}");
        }
    }

    #[test]
    fn refuses_malformed_unknown_and_repeated_components() {
        let err = Authorization::parse(&header(&[CREDENTIAL, "SignedHeaders"])).unwrap_err();
        assert!(
            matches!(err, ParseError::MalformedComponent { ref component, .. } if component == "SignedHeaders")
        );
        let err = Authorization::parse(&format!("{VALID}, Extra=1")).unwrap_err();
        assert!(
            matches!(err, ParseError::UnknownComponent { ref component, .. } if component == "Extra")
        );
        let err = Authorization::parse(&format!("{VALID}, {CREDENTIAL}")).unwrap_err();
        assert!(
            matches!(err, ParseError::DuplicateComponent { ref component, .. } if component == "Credential")
        );
        assert!(!err.to_string().contains(SIGNATURE));
    }

    #[test]
    fn refuses_a_scope_with_the_wrong_number_of_parts() {
        for credential in [
            "AKIDEXAMPLE/20150830/us-east-1/aws4_request",
            "AKIDEXAMPLE/20150830/us-east-1/service/extra/aws4_request",
            "/20150830/us-east-1/service/aws4_request",
            "AKIDEXAMPLE//us-east-1/service/aws4_request",
            "AKIDEXAMPLE",
        ] {
            let value = VALID.replace(&CREDENTIAL[11..], credential);
            assert_eq!(
                Authorization::parse(&value),
                Err(ParseError::MalformedCredential {
                    credential: credential.into()
                }),
                "{credential}"
            );
        }
    }

    #[test]
    fn refuses_a_bad_scope_date_or_terminator() {
        let value = VALID.replace("20150830", "2015-08-30");
        assert_eq!(
            Authorization::parse(&value),
            Err(ParseError::MalformedScopeDate {
                date: "2015-08-30".into()
            })
        );
        let value = VALID.replace("aws4_request", "aws4_requestx");
        let err = Authorization::parse(&value).unwrap_err();
        assert_eq!(
            err,
            ParseError::InvalidTerminator {
                terminator: "aws4_requestx".into()
            }
        );
        assert_eq!(
            err.to_string(),
            "Credential should be scoped with a valid terminator: 'aws4_request', not \
             'aws4_requestx'."
        );
    }

    #[test]
    fn refuses_a_signature_that_is_not_64_hex_digits() {
        for bad in [
            &SIGNATURE[..62],
            "zz",
            &format!("{SIGNATURE}00"),
            &SIGNATURE.replace('f', "g"),
        ] {
            let value = VALID.replace(SIGNATURE, bad);
            assert_eq!(
                Authorization::parse(&value),
                Err(ParseError::MalformedSignature),
                "{bad}"
            );
        }
    }

    #[test]
    fn signed_headers_are_kept_as_given() {
        let value = VALID.replace("host;x-amz-date", "x-amz-date;host;content-type");
        let auth = Authorization::parse(&value).unwrap();
        assert_eq!(auth.signed_headers, ["x-amz-date", "host", "content-type"]);
        let value = VALID.replace("SignedHeaders=host;x-amz-date", "SignedHeaders=");
        assert!(
            Authorization::parse(&value)
                .unwrap()
                .signed_headers
                .is_empty()
        );
        for bad in ["host;;x-amz-date", "host;x amz date", "host;"] {
            let value = VALID.replace("host;x-amz-date", bad);
            assert_eq!(
                Authorization::parse(&value),
                Err(ParseError::MalformedSignedHeaders {
                    signed_headers: bad.into()
                })
            );
        }
    }

    #[test]
    fn long_input_is_shortened_in_messages() {
        let long = "A".repeat(10_000);
        let err = Authorization::parse(&long).unwrap_err();
        assert!(err.to_string().len() < 400);
    }
}
