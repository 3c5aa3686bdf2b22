//! The services as separate operating-system processes of the real `mashang` binary,
//! as Kubernetes runs them: one `mashang serve <service>` each, over NATS and S3, so a
//! fault test can kill one with SIGKILL and start it again on the same port.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

use crate::Client;

/// The `mashang` binary the processes run: `MASHANG_BIN`, or the one cargo built next
/// to this test program (`cargo test --workspace` builds it; run
/// `cargo build -p mashang` first when testing one package).
pub fn mashang_bin() -> PathBuf {
    if let Ok(path) = std::env::var("MASHANG_BIN") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().expect("the test program's path");
    // target/<profile>/deps/<test> → target/<profile>/mashang
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .map(|dir| dir.join("mashang"))
        .expect("the test program lives in target/<profile>/deps");
    assert!(
        bin.is_file(),
        "{} is missing: build it with `cargo build -p mashang` or set MASHANG_BIN",
        bin.display()
    );
    bin
}

/// A free loopback port (bound and released; the process binds it again).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// One `mashang serve <service>` process.
#[derive(Debug)]
pub struct ServiceProcess {
    /// `intake`, `routing`, `notification` or `analytics`.
    pub name: &'static str,
    port: u16,
    env: Vec<(String, String)>,
    log: PathBuf,
    child: Option<Child>,
    /// Times it has been started.
    pub starts: u32,
}

impl ServiceProcess {
    /// Starts `mashang serve <name>` with `env` (the `MASHANG_…` settings) on a port of
    /// its own, logging to a file in `logs`.
    pub async fn start(name: &'static str, env: &[(String, String)], logs: &Path) -> Self {
        let mut process = Self {
            name,
            port: free_port(),
            env: env.to_vec(),
            log: logs.join(format!("{name}.log")),
            child: None,
            starts: 0,
        };
        process.spawn();
        process
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("opening a service log");
        let child = Command::new(mashang_bin())
            .arg("serve")
            .arg(self.name)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("MASHANG_LISTEN", format!("127.0.0.1:{}", self.port))
            .env("MASHANG_METRICS_LISTEN", "127.0.0.1:0")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .expect("starting mashang serve");
        self.child = Some(child);
        self.starts += 1;
    }

    /// The operating system's id of the running process.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(Child::id)
    }

    /// A client of the process's public listener.
    pub fn client(&self) -> Client {
        Client::new(format!("http://127.0.0.1:{}", self.port))
    }

    /// Kills the process with SIGKILL: no shutdown, no draining, as a crash would.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.start_kill().expect("sending SIGKILL");
            let _ = child.wait().await;
        }
    }

    /// Starts it again on the same port.
    pub async fn restart(&mut self) {
        self.kill().await;
        self.spawn();
    }

    /// Waits until it answers `/healthz` (readiness may lag while a dependency is cut).
    pub async fn wait_alive(&mut self) {
        let client = self.client();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                panic!(
                    "{} exited with {status}; its log:\n{}",
                    self.name,
                    self.log_tail()
                );
            }
            if let Ok(reply) = reqwest::get(client.url("/healthz")).await
                && reply.status().is_success()
            {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{} did not start; its log:\n{}",
                self.name,
                self.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The last lines of its log, for failure messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// Stops it with SIGTERM and waits for a graceful exit.
    pub async fn stop(mut self) {
        if let Some(mut child) = self.child.take() {
            if let Some(pid) = child.id() {
                let _ = std::process::Command::new("kill")
                    .arg("-TERM")
                    .arg(pid.to_string())
                    .status();
            }
            if tokio::time::timeout(Duration::from_secs(20), child.wait())
                .await
                .is_err()
            {
                let _ = child.start_kill();
                let _ = child.wait().await;
            }
        }
    }
}
