//! The PostgreSQL the shared-journal benchmarks run against: the test cluster named by
//! `ONSHI_TEST_PG_URL`, `ONSHI_TEST_PG_PASSWORD_FILE` and `ONSHI_TEST_PG_CA`
//! (`bash scripts/test-postgres-cluster start DIR && source DIR/env`).

use onshi_desk::config::{SharedJournalConfig, SharedPassword};

pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// The test cluster's admin URL, password file and CA.
pub struct Cluster {
    url: String,
    password_file: String,
    ca: String,
}

impl Cluster {
    /// The cluster the environment names, if it names one.
    pub fn from_env() -> Option<Cluster> {
        Some(Cluster {
            url: std::env::var("ONSHI_TEST_PG_URL").ok()?,
            password_file: std::env::var("ONSHI_TEST_PG_PASSWORD_FILE").ok()?,
            ca: std::env::var("ONSHI_TEST_PG_CA").ok()?,
        })
    }

    /// A desk's shared-journal settings for database `db`, as desk `desk_id`.
    pub fn config(&self, db: &str, desk_id: &str) -> Result<SharedJournalConfig, Error> {
        let (base, _) = self
            .url
            .rsplit_once('/')
            .ok_or("ONSHI_TEST_PG_URL has no database")?;
        Ok(SharedJournalConfig {
            url: format!("{base}/{db}"),
            password: Some(SharedPassword::File(self.password_file.clone().into())),
            ca: self.ca.clone().into(),
            desk_id: desk_id.to_owned(),
        })
    }

    /// A connection to the cluster's `postgres` database (to create and drop databases).
    pub fn admin(&self) -> Result<postgres::Client, Error> {
        Ok(onshi_desk::journal::shared::connect(
            &self.config("postgres", "bench-admin")?,
        )?)
    }
}

/// What the benchmark says when no cluster is named: an error under `--bench`, a skip note
/// under `cargo test --all-targets`.
pub const NO_CLUSTER: &str = "ONSHI_TEST_PG_URL, ONSHI_TEST_PG_PASSWORD_FILE and ONSHI_TEST_PG_CA must name a PostgreSQL (bash scripts/test-postgres-cluster start DIR && source DIR/env)";
