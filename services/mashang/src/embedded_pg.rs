//! A private PostgreSQL cluster for `mashang demo`: created with the machine's own
//! PostgreSQL binaries in a folder of the demo's, listening on loopback only, and
//! stopped again when the demo exits. No system cluster is touched and no root is
//! needed; when started by root, the cluster runs as the unprivileged `postgres` user
//! (PostgreSQL refuses to run as root).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail};

/// A running private cluster.
#[derive(Debug)]
pub struct EmbeddedPg {
    bin: PathBuf,
    dir: PathBuf,
    data: PathBuf,
    run_as: Option<String>,
    port: u16,
}

const INSTALL_HINT: &str = "PostgreSQL server programs (initdb, pg_ctl) were not found. Install them, e.g.\n  \
    Debian/Ubuntu:  sudo apt-get install postgresql\n  \
    Fedora/RHEL:    sudo dnf install postgresql-server\n  \
    macOS:          brew install postgresql@16\n\
    or point MASHANG_PG_BIN_DIR at the folder holding initdb, or pass --database-url to use an existing server.";

/// Finds the folder holding `initdb` and `pg_ctl`.
fn find_bin_dir() -> Option<PathBuf> {
    let has_tools = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    if let Ok(dir) = std::env::var("MASHANG_PG_BIN_DIR") {
        let dir = PathBuf::from(dir);
        if has_tools(&dir) {
            return Some(dir);
        }
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output()
        && out.status.success()
    {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if has_tools(&dir) {
            return Some(dir);
        }
    }
    // Debian and Ubuntu keep server programs out of PATH, one folder per version.
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            Some((v, e.path().join("bin")))
        })
        .filter(|(_, dir)| has_tools(dir))
        .collect();
    versions.sort();
    if let Some((_, dir)) = versions.pop() {
        return Some(dir);
    }
    std::env::var_os("PATH")
        .and_then(|paths| std::env::split_paths(&paths).find(|dir| has_tools(dir)))
}

fn running_as_root() -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata("/proc/self")
            .map(|m| m.uid() == 0)
            .unwrap_or(false)
    }
    #[cfg(not(unix))]
    {
        false
    }
}

fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

impl EmbeddedPg {
    /// Creates the cluster in `dir` on first use, starts it, and returns it running.
    pub fn start(dir: &Path) -> anyhow::Result<Self> {
        let bin = find_bin_dir().context(INSTALL_HINT)?;
        let run_as = running_as_root().then(|| "postgres".to_owned());
        if let Some(user) = &run_as {
            let known = Command::new("id").arg("-u").arg(user).output();
            if !known.map(|o| o.status.success()).unwrap_or(false) {
                bail!(
                    "running as root, and PostgreSQL refuses to run as root; create an unprivileged \
                     user for it first:  useradd --system --home /var/lib/postgresql postgres"
                );
            }
        }
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let dir = dir.canonicalize()?;
        let pg = Self {
            bin,
            dir: dir.clone(),
            data: dir.join("data"),
            run_as,
            port: free_port()?,
        };
        if let Some(user) = &pg.run_as {
            pg.ensure_reachable_by(user, &dir)?;
            chown(user, &dir)?;
        }
        if !pg.data.join("PG_VERSION").is_file() {
            pg.run(
                "initdb",
                &[
                    "-D",
                    &pg.data.to_string_lossy(),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--no-locale",
                ],
            )
            .context("initdb failed")?;
        }
        // A cluster left running by a killed demo is stopped first, so this one is ours.
        if pg.data.join("postmaster.pid").is_file() {
            let _ = pg.run(
                "pg_ctl",
                &["-D", &pg.data.to_string_lossy(), "-m", "fast", "-w", "stop"],
            );
        }
        pg.launch()?;
        Ok(pg)
    }

    /// Starts the stopped cluster again on the same port (for tests of a database
    /// restart).
    pub fn launch(&self) -> anyhow::Result<()> {
        let pg = self;
        let dir = &self.dir;
        let log = dir.join("postgres.log");
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {} -k {} -c max_connections=100",
            pg.port,
            dir.display()
        );
        pg.run(
            "pg_ctl",
            &[
                "-D",
                &pg.data.to_string_lossy(),
                "-l",
                &log.to_string_lossy(),
                "-o",
                &options,
                "-w",
                "-t",
                "60",
                "start",
            ],
        )
        .with_context(|| format!("starting PostgreSQL failed; see {}", log.display()))
    }

    /// The superuser URL of a database in the cluster.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Stops the cluster.
    pub fn stop(&self) -> anyhow::Result<()> {
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data.to_string_lossy(),
                "-m",
                "fast",
                "-w",
                "stop",
            ],
        )
    }

    fn ensure_reachable_by(&self, user: &str, dir: &Path) -> anyhow::Result<()> {
        let ok = Command::new("runuser")
            .args(["-u", user, "--", "test", "-x"])
            .arg(dir.parent().unwrap_or(dir))
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if ok {
            Ok(())
        } else {
            bail!(
                "the {user} user cannot reach {}: choose a data folder outside private home \
                 folders with --data-dir (e.g. /var/lib/mashang-demo)",
                dir.display()
            )
        }
    }

    fn run(&self, program: &str, args: &[&str]) -> anyhow::Result<()> {
        let path = self.bin.join(program);
        let output = match &self.run_as {
            Some(user) => Command::new("runuser")
                .args(["-u", user, "--"])
                .arg(&path)
                .args(args)
                .output(),
            None => Command::new(&path).args(args).output(),
        }
        .with_context(|| format!("running {}", path.display()))?;
        if output.status.success() {
            Ok(())
        } else {
            bail!(
                "{program} exited with {}: {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            )
        }
    }
}

fn chown(user: &str, dir: &Path) -> anyhow::Result<()> {
    let status = Command::new("chown")
        .args(["-R", &format!("{user}:")])
        .arg(dir)
        .status()
        .context("running chown")?;
    anyhow::ensure!(status.success(), "chown of {} failed", dir.display());
    Ok(())
}
