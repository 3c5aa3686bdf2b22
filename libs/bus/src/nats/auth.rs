//! How the NATS connection proves who it is, and whether it runs over TLS.

use std::fmt;
use std::path::{Path, PathBuf};

use async_nats::ConnectOptions;

use crate::error::BusError;

/// A secret string: usable, but printed as `[redacted]` by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps `value`.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// The credentials presented to the server; at most one kind.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum NatsAuth {
    /// No credentials (a server without authorisation).
    #[default]
    None,
    /// A user name and password.
    UserPassword {
        /// The user.
        user: String,
        /// The password.
        password: Secret,
    },
    /// A token.
    Token(Secret),
    /// An NKey seed (`SU…`); the server knows the public key.
    NKeySeed(Secret),
    /// A `.creds` file (user JWT and NKey seed), as issued by an operator/account setup.
    CredsFile(PathBuf),
}

/// TLS to the server.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NatsTls {
    /// Refuse to connect without TLS (otherwise TLS is used when the server asks for it).
    pub required: bool,
    /// A PEM file of the certificate authorities to trust instead of the system's.
    pub ca_file: Option<PathBuf>,
    /// A client certificate and its key (PEM), for servers that verify clients.
    pub client_cert: Option<(PathBuf, PathBuf)>,
}

impl NatsTls {
    /// Whether any TLS setting is made.
    fn configured(&self) -> bool {
        self.required || self.ca_file.is_some() || self.client_cert.is_some()
    }
}

/// Adds the credentials and TLS settings to `options`. Files are checked now, so a
/// wrong path stops the start-up with its name rather than failing every reconnect.
pub(crate) async fn apply(
    mut options: ConnectOptions,
    auth: &NatsAuth,
    tls: &NatsTls,
) -> Result<ConnectOptions, BusError> {
    options = match auth {
        NatsAuth::None => options,
        NatsAuth::UserPassword { user, password } => {
            options.user_and_password(user.clone(), password.expose().to_owned())
        }
        NatsAuth::Token(token) => options.token(token.expose().to_owned()),
        NatsAuth::NKeySeed(seed) => {
            let seed = seed.expose().trim();
            nkeys::KeyPair::from_seed(seed).map_err(|e| {
                BusError::Misconfigured(format!("the NATS NKey seed is not a valid seed: {e}"))
            })?;
            options.nkey(seed.to_owned())
        }
        NatsAuth::CredsFile(path) => {
            readable(path, "NATS credentials file")?;
            options.credentials_file(path).await.map_err(|e| {
                BusError::Misconfigured(format!(
                    "reading the NATS credentials file {}: {e}",
                    path.display()
                ))
            })?
        }
    };
    if tls.configured() {
        options = options.require_tls(true);
    }
    if let Some(ca) = &tls.ca_file {
        readable(ca, "NATS TLS CA file")?;
        options = options.add_root_certificates(ca.clone());
    }
    if let Some((cert, key)) = &tls.client_cert {
        readable(cert, "NATS TLS client certificate")?;
        readable(key, "NATS TLS client key")?;
        options = options.add_client_certificate(cert.clone(), key.clone());
    }
    Ok(options)
}

fn readable(path: &Path, what: &str) -> Result<(), BusError> {
    std::fs::File::open(path)
        .map(|_| ())
        .map_err(|e| BusError::Misconfigured(format!("{what} {}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_do_not_print() {
        let auth = NatsAuth::UserPassword {
            user: "relay".into(),
            password: Secret::new("hunter2"),
        };
        let printed = format!("{auth:?} {:?}", NatsAuth::Token(Secret::new("t0ken")));
        assert!(printed.contains("relay"), "{printed}");
        assert!(
            !printed.contains("hunter2") && !printed.contains("t0ken"),
            "{printed}"
        );
        let seed = format!("{:?}", NatsAuth::NKeySeed(Secret::new("SUAKEY")));
        assert!(!seed.contains("SUAKEY"), "{seed}");
    }

    #[tokio::test]
    async fn a_bad_seed_or_a_missing_file_stops_the_start_with_its_name() {
        let bad_seed = apply(
            ConnectOptions::new(),
            &NatsAuth::NKeySeed(Secret::new("not-a-seed")),
            &NatsTls::default(),
        )
        .await
        .expect_err("a bad seed is refused");
        assert!(bad_seed.to_string().contains("NKey"), "{bad_seed}");
        assert!(!bad_seed.to_string().contains("not-a-seed"), "{bad_seed}");
        let missing = apply(
            ConnectOptions::new(),
            &NatsAuth::CredsFile("/nonexistent/mashang.creds".into()),
            &NatsTls::default(),
        )
        .await
        .expect_err("a missing creds file is refused");
        assert!(
            missing.to_string().contains("/nonexistent/mashang.creds"),
            "{missing}"
        );
        let tls = NatsTls {
            ca_file: Some("/nonexistent/ca.pem".into()),
            ..NatsTls::default()
        };
        let missing_ca = apply(ConnectOptions::new(), &NatsAuth::None, &tls)
            .await
            .expect_err("a missing CA file is refused");
        assert!(missing_ca.to_string().contains("ca.pem"), "{missing_ca}");
    }
}
