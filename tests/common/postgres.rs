//! The shared journal's test databases on PostgreSQL (issue 17).
//!
//! `scripts/test` starts a throwaway cluster (`scripts/lib/postgres.sh`: TLS only, scram, a
//! random password) and names it in `ONSHI_TEST_PG_URL`, `ONSHI_TEST_PG_PASSWORD_FILE`,
//! `ONSHI_TEST_PG_CA`, `ONSHI_TEST_PG_WRONG_CA` and `ONSHI_TEST_PG_CTL`. Each test makes its
//! own database there ([`TestDatabase::create`]), so tests run in parallel and never see each
//! other's rows.
//!
//! A test that stops or kills the server starts a cluster of its own
//! ([`PrivateCluster::start`], the same script, a few seconds): the shared one stays up for
//! every other test running meanwhile.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use onshi_desk::config::{SharedJournalConfig, SharedPassword};
use postgres::Client;

/// A PostgreSQL cluster the tests may use: where it is and how to log in.
#[derive(Clone, Debug)]
pub struct Cluster {
    /// `postgres://onshi@127.0.0.1:PORT/postgres` (the admin database).
    pub url: String,
    pub password_file: PathBuf,
    pub ca: PathBuf,
    /// A CA the server's certificate does not chain to.
    pub wrong_ca: PathBuf,
    /// `ctl stop|start|restart|kill|status`.
    pub ctl: PathBuf,
}

fn env_path(name: &str) -> PathBuf {
    PathBuf::from(std::env::var_os(name).unwrap_or_else(|| {
        panic!("{name} is not set: run the suite with `bash scripts/test`, which starts a test PostgreSQL (scripts/lib/postgres.sh)")
    }))
}

impl Cluster {
    /// The cluster `scripts/test` started (panics, saying how to run the suite, without it).
    pub fn from_env() -> Cluster {
        let url = std::env::var("ONSHI_TEST_PG_URL").unwrap_or_else(|_| {
            panic!("ONSHI_TEST_PG_URL is not set: run the suite with `bash scripts/test`, which starts a test PostgreSQL (by hand: `bash scripts/test-postgres-cluster start DIR && source DIR/env`)")
        });
        Cluster {
            url,
            password_file: env_path("ONSHI_TEST_PG_PASSWORD_FILE"),
            ca: env_path("ONSHI_TEST_PG_CA"),
            wrong_ca: env_path("ONSHI_TEST_PG_WRONG_CA"),
            ctl: env_path("ONSHI_TEST_PG_CTL"),
        }
    }

    /// The cluster described by a `DIR/env` file of `scripts/lib/postgres.sh` (read by the
    /// shell that wrote it: the values are shell-quoted).
    fn from_env_file(file: &Path) -> Cluster {
        let out = Command::new("bash")
            .arg("-c")
            .arg(
                "set -eu; source \"$1\"; printf '%s\\n' \"$ONSHI_TEST_PG_URL\" \
                 \"$ONSHI_TEST_PG_PASSWORD_FILE\" \"$ONSHI_TEST_PG_CA\" \"$ONSHI_TEST_PG_WRONG_CA\" \
                 \"$ONSHI_TEST_PG_CTL\"",
            )
            .arg("bash")
            .arg(file)
            .output()
            .unwrap_or_else(|e| panic!("run bash: {e}"));
        let text = String::from_utf8(out.stdout).expect("UTF-8 env");
        let v: Vec<&str> = text.lines().collect();
        assert!(
            out.status.success() && v.len() == 5,
            "cannot read {}: {}",
            file.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        Cluster {
            url: v[0].to_owned(),
            password_file: v[1].into(),
            ca: v[2].into(),
            wrong_ca: v[3].into(),
            ctl: v[4].into(),
        }
    }

    /// The URL of database `db` on this cluster.
    pub fn url_of(&self, db: &str) -> String {
        let (base, _) = self.url.rsplit_once('/').expect("a URL with a database");
        format!("{base}/{db}")
    }

    /// How a desk with id `desk_id` reaches database `db`.
    pub fn config(&self, db: &str, desk_id: &str) -> SharedJournalConfig {
        SharedJournalConfig {
            url: self.url_of(db),
            password: Some(SharedPassword::File(self.password_file.clone())),
            ca: self.ca.clone(),
            desk_id: desk_id.to_owned(),
        }
    }

    /// A connection to database `db`, through the desk's own connect (TLS, password file).
    pub fn client(&self, db: &str) -> Client {
        onshi_desk::journal::shared::connect(&self.config(db, "test-admin"))
            .unwrap_or_else(|e| panic!("connect to the test PostgreSQL ({db}): {e}"))
    }

    /// Runs `ctl verb` (stop, start, restart, kill) and fails the test if it fails.
    pub fn ctl(&self, verb: &str) {
        let out = Command::new(&self.ctl)
            .arg(verb)
            .output()
            .unwrap_or_else(|e| panic!("run {} {verb}: {e}", self.ctl.display()));
        assert!(
            out.status.success(),
            "{} {verb}: {}{}",
            self.ctl.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// A unique database name from `hint`: lower-case ASCII, digits and `_`, within PostgreSQL's
/// 63 bytes.
fn unique_name(hint: &str) -> String {
    static SEQ: AtomicU32 = AtomicU32::new(0);
    let hint: String = hint
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .take(30)
        .collect();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "onshi_test_{hint}_{}_{}_{nanos}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    )
}

/// A fresh, empty database for one test; dropped (best effort) when the value is.
pub struct TestDatabase {
    pub cluster: Cluster,
    pub name: String,
}

impl TestDatabase {
    /// A new database on the cluster `scripts/test` started.
    pub fn create(name_hint: &str) -> TestDatabase {
        TestDatabase::create_on(&Cluster::from_env(), name_hint)
    }

    /// A new database on `cluster`.
    pub fn create_on(cluster: &Cluster, name_hint: &str) -> TestDatabase {
        let name = unique_name(name_hint);
        let mut admin = cluster.client("postgres");
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap_or_else(|e| panic!("create database {name}: {e}"));
        TestDatabase {
            cluster: cluster.clone(),
            name,
        }
    }

    /// The desk's `[journal]` shared settings for this database, as desk `desk_id`.
    pub fn config(&self, desk_id: &str) -> SharedJournalConfig {
        self.cluster.config(&self.name, desk_id)
    }

    /// A connection to this database for assertions.
    pub fn client(&self) -> Client {
        self.cluster.client(&self.name)
    }

    /// `(desk_check_id, revision)` of every row of `desk`, in the shared journal's id order.
    pub fn rows_of(&self, desk: &str) -> Vec<(i64, i64)> {
        self.client()
            .query(
                "SELECT desk_check_id, revision FROM checks WHERE desk = $1 ORDER BY id",
                &[&desk],
            )
            .unwrap_or_else(|e| panic!("rows of {desk}: {e}"))
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect()
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // Best effort: a desk still connected is disconnected; a server stopped by the test is
        // left as it is (the cluster is thrown away at the end anyway).
        if let Ok(mut admin) =
            onshi_desk::journal::shared::connect(&self.cluster.config("postgres", "test-admin"))
        {
            let _ = admin.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

/// A cluster of the test's own, for tests that stop, restart or kill the server; stopped and
/// deleted when dropped.
pub struct PrivateCluster {
    pub cluster: Cluster,
    dir: tempfile::TempDir,
}

fn cluster_script(verb: &str, dir: &Path) -> std::process::Output {
    let lib = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/lib/postgres.sh");
    Command::new("bash")
        .arg("-c")
        .arg(format!(
            "set -euo pipefail; source \"$1\"; onshi_pg_test_{verb} \"$2\""
        ))
        .arg("bash")
        .arg(&lib)
        .arg(dir)
        .output()
        .unwrap_or_else(|e| panic!("run bash: {e}"))
}

impl PrivateCluster {
    /// Starts a new cluster (`scripts/lib/postgres.sh`; the server package must be installed,
    /// which `scripts/test` does).
    pub fn start() -> PrivateCluster {
        let dir = tempfile::Builder::new()
            .prefix("pg-cluster-")
            .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
            .expect("cluster dir");
        let out = cluster_script("start", dir.path());
        assert!(
            out.status.success(),
            "starting a test PostgreSQL failed (run `bash scripts/test`, which installs it): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        PrivateCluster {
            cluster: Cluster::from_env_file(&dir.path().join("env")),
            dir,
        }
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        let _ = cluster_script("stop", self.dir.path());
    }
}
