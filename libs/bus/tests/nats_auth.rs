//! The NATS connection's credentials and TLS, against a private nats-server that
//! demands them.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use chrono::Utc;
use mashang_bus::{Bus, NatsAuth, NatsBus, NatsConfig, NatsTls, Secret};
use mashang_domain::events::{CaseCreated, Envelope};
use mashang_domain::{CaseId, GridNodeId, ReportId, TenantId};

/// The nats-server binary: `MASHANG_TEST_NATS_SERVER`, the one the test services use,
/// or the first on `PATH`.
fn nats_server() -> PathBuf {
    if let Ok(path) = std::env::var("MASHANG_TEST_NATS_SERVER") {
        return path.into();
    }
    let local = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/test-env/venv/bin/nats-server");
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("nats-server"))
            .find(|p| p.is_file())
    });
    match (local.is_file(), on_path) {
        (true, _) => local,
        (false, Some(found)) => found,
        (false, None) => {
            panic!("no nats-server: set MASHANG_TEST_NATS_SERVER or run infra/test-services up")
        }
    }
}

/// A nats-server of our own, on a free port, requiring `args`' credentials; killed on drop.
struct PrivateServer {
    url: String,
    _child: tokio::process::Child,
    _store: tempfile::TempDir,
}

async fn private_server(args: &[&str]) -> PrivateServer {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let store = tempfile::tempdir().expect("a store folder");
    let child = tokio::process::Command::new(nats_server())
        .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
        .arg(store.path())
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("starting nats-server");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "nats-server did not start"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    PrivateServer {
        url: format!("nats://127.0.0.1:{port}"),
        _child: child,
        _store: store,
    }
}

fn event() -> Envelope {
    let payload = CaseCreated {
        case_id: CaseId::new(),
        case_version: 1,
        report_id: ReportId::new(),
        tracking_number: "T-20261203-0001".into(),
        grid_node_id: GridNodeId::new(),
        category: "roads".into(),
        first_response_due: Utc::now(),
        priority: None,
        resolution_due: None,
    };
    Envelope::new(TenantId::new(), Utc::now(), &payload).expect("an envelope")
}

async fn bus(url: &str, auth: NatsAuth) -> NatsBus {
    tls_bus(url, auth, NatsTls::default()).await
}

async fn tls_bus(url: &str, auth: NatsAuth, tls: NatsTls) -> NatsBus {
    let mut config = NatsConfig::new(url);
    config.auth = auth;
    config.tls = tls;
    NatsBus::connect(config).await.expect("connect starts")
}

/// A throw-away certificate authority and a server certificate for 127.0.0.1 it
/// signed, made with the openssl command: (ca.pem, server.pem, server.key).
fn certificates(dir: &std::path::Path) -> (PathBuf, PathBuf, PathBuf) {
    let openssl = |args: &[&str]| {
        let done = std::process::Command::new("openssl")
            .current_dir(dir)
            .args(args)
            .output()
            .expect("running openssl");
        assert!(
            done.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&done.stderr)
        );
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    openssl(
        &[
            &["req", "-x509"][..],
            &ec,
            &[
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                "1",
                "-subj",
                "/CN=mashang test CA",
            ],
        ]
        .concat(),
    );
    openssl(
        &[
            &["req"][..],
            &ec,
            &[
                "-keyout",
                "server.key",
                "-out",
                "server.csr",
                "-subj",
                "/CN=127.0.0.1",
            ],
        ]
        .concat(),
    );
    std::fs::write(dir.join("san.cnf"), "subjectAltName=IP:127.0.0.1\n").expect("writing");
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "1",
        "-extfile",
        "san.cnf",
    ]);
    (
        dir.join("ca.pem"),
        dir.join("server.pem"),
        dir.join("server.key"),
    )
}

/// Polls readiness as `/readyz` would, until the bus is ready or the deadline passes.
async fn ready(bus: &NatsBus) -> bool {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if bus.check().await.is_ok() {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_server_requiring_a_password_accepts_the_right_one_only() {
    let server = private_server(&["--user", "mashang", "--pass", "s3cret-pw"]).await;
    let password = |p: &str| NatsAuth::UserPassword {
        user: "mashang".into(),
        password: Secret::new(p),
    };
    let without = bus(&server.url, NatsAuth::None).await;
    let wrong = bus(&server.url, password("wrong")).await;
    let right = bus(&server.url, password("s3cret-pw")).await;
    assert!(ready(&right).await, "not ready with the password");
    right.publish(&event()).await.expect("publishing");
    assert!(!format!("{right:?}").contains("s3cret-pw"));
    // The server is up and accepts the right password; the others stay out.
    assert!(
        without.publish(&event()).await.is_err(),
        "published without credentials"
    );
    assert!(
        wrong.publish(&event()).await.is_err(),
        "published with a wrong password"
    );
    assert!(without.check().await.is_err() && wrong.check().await.is_err());
}

#[tokio::test]
async fn a_server_requiring_a_token_accepts_it() {
    let server = private_server(&["--auth", "t0ken-for-mashang"]).await;
    let wrong = bus(&server.url, NatsAuth::Token(Secret::new("nope"))).await;
    let right = bus(
        &server.url,
        NatsAuth::Token(Secret::new("t0ken-for-mashang")),
    )
    .await;
    assert!(ready(&right).await, "not ready with the token");
    right.publish(&event()).await.expect("publishing");
    assert!(
        wrong.publish(&event()).await.is_err(),
        "published with a wrong token"
    );
}

#[tokio::test]
async fn tls_is_used_with_the_given_authority_and_required_when_asked() {
    let certs = tempfile::tempdir().expect("a folder");
    let (ca, cert, key) = certificates(certs.path());
    let (cert, key) = (cert.display().to_string(), key.display().to_string());
    let server = private_server(&[
        "--tls",
        "--tlscert",
        &cert,
        "--tlskey",
        &key,
        "--auth",
        "tls-t0ken",
    ])
    .await;
    let token = || NatsAuth::Token(Secret::new("tls-t0ken"));
    let trusted = NatsTls {
        required: true,
        ca_file: Some(ca),
        client_cert: None,
    };
    let right = tls_bus(&server.url, token(), trusted).await;
    // The system's authorities do not know the test CA: the handshake fails.
    let untrusted = tls_bus(
        &server.url,
        token(),
        NatsTls {
            required: true,
            ..NatsTls::default()
        },
    )
    .await;
    assert!(ready(&right).await, "not ready over TLS with the CA");
    right.publish(&event()).await.expect("publishing over TLS");
    assert!(
        untrusted.publish(&event()).await.is_err(),
        "a certificate from an unknown CA was accepted"
    );
}
