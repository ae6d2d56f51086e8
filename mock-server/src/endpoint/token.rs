//! Login tokens: what `POST …/login` issues and what the search and the challenge require.
//!
//! Public code of the real web API logs in with the facility certificate over mutual TLS,
//! gets `idToken` (besides `accessToken` and `refreshToken`) and sends it raw in the
//! `Authorization` header of each search. The mock binds each token to the client certificate
//! that logged in (a token copied to another facility's desk is refused), lets it expire after
//! a TTL, and for tests can also expire it after a number of uses.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rand::RngCore;
use sha2::{Digest, Sha256};

/// Expired tokens are swept every this many logins, so a desk logging in all day cannot grow
/// the table for ever without making every login walk it.
const SWEEP_EVERY: u64 = 256;

/// Tokens remembered for tests ([`super::ServerStats::issued_id_tokens`](crate::endpoint::ServerStats::issued_id_tokens)).
const REMEMBERED: usize = 64;

/// Which facility certificate a connection presented: SHA-256 of its end-entity DER. Put into
/// each request's extensions by the connection task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct ClientIdentity(pub(crate) [u8; 32]);

impl ClientIdentity {
    pub(crate) fn of(certificate_der: &[u8]) -> ClientIdentity {
        ClientIdentity(Sha256::digest(certificate_der).into())
    }
}

/// The three tokens of one login.
#[derive(Debug, Clone)]
pub(crate) struct Issued {
    pub access_token: String,
    pub refresh_token: String,
    pub id_token: String,
    pub lifetime: Duration,
}

/// Why a request's token was refused (the English detail of PH4010; never the token itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    Missing,
    Unknown,
    Expired,
    UsedUp,
    OtherCertificate,
}

impl Refusal {
    pub(crate) fn detail(self) -> &'static str {
        match self {
            Refusal::Missing => "no Authorization header: log in first and send its idToken",
            Refusal::Unknown => {
                "the token in Authorization is unknown (never issued, or swept after expiry)"
            }
            Refusal::Expired => "the token in Authorization has expired: log in again",
            Refusal::UsedUp => {
                "the token in Authorization has expired (fault: token uses exhausted): log in again"
            }
            Refusal::OtherCertificate => {
                "the token in Authorization was issued to another facility certificate"
            }
        }
    }
}

struct Entry {
    identity: ClientIdentity,
    deadline: Instant,
    uses: u32,
}

struct Table {
    entries: HashMap<String, Entry>,
    logins: u64,
    remembered: Vec<String>,
}

/// Live tokens and the login counters.
pub(crate) struct TokenStore {
    ttl: Duration,
    max_uses: Option<u32>,
    table: Mutex<Table>,
    refused: AtomicU64,
}

impl TokenStore {
    pub(crate) fn new(ttl: Duration, max_uses: Option<u32>) -> TokenStore {
        TokenStore {
            ttl,
            max_uses,
            table: Mutex::new(Table {
                entries: HashMap::new(),
                logins: 0,
                remembered: Vec::new(),
            }),
            refused: AtomicU64::new(0),
        }
    }

    /// Issues the tokens of one login by `identity`.
    pub(crate) fn issue(&self, identity: ClientIdentity) -> Issued {
        let issued = Issued {
            access_token: random_token("at"),
            refresh_token: random_token("rt"),
            id_token: random_token("it"),
            lifetime: self.ttl,
        };
        let now = Instant::now();
        let mut table = self.lock();
        table.logins += 1;
        if table.logins.is_multiple_of(SWEEP_EVERY) {
            table.entries.retain(|_, e| e.deadline > now);
        }
        table.entries.insert(
            issued.id_token.clone(),
            Entry {
                identity,
                deadline: now + self.ttl,
                uses: 0,
            },
        );
        if table.remembered.len() == REMEMBERED {
            table.remembered.remove(0);
        }
        table.remembered.push(issued.id_token.clone());
        issued
    }

    /// Checks the `Authorization` header's value (`None`: absent) of a request made over a
    /// connection by `identity`, and counts the use.
    pub(crate) fn check(
        &self,
        authorization: Option<&str>,
        identity: Option<ClientIdentity>,
    ) -> Result<(), Refusal> {
        let result = self.check_inner(authorization, identity);
        if result.is_err() {
            self.refused.fetch_add(1, Ordering::Relaxed);
        }
        result
    }

    fn check_inner(
        &self,
        authorization: Option<&str>,
        identity: Option<ClientIdentity>,
    ) -> Result<(), Refusal> {
        let token = authorization.map(bare_token).ok_or(Refusal::Missing)?;
        if token.is_empty() {
            return Err(Refusal::Missing);
        }
        let mut table = self.lock();
        let entry = table.entries.get_mut(token).ok_or(Refusal::Unknown)?;
        if Some(entry.identity) != identity {
            return Err(Refusal::OtherCertificate);
        }
        if Instant::now() > entry.deadline {
            table.entries.remove(token);
            return Err(Refusal::Expired);
        }
        if let Some(max) = self.max_uses {
            if entry.uses >= max {
                table.entries.remove(token);
                return Err(Refusal::UsedUp);
            }
        }
        entry.uses = entry.uses.saturating_add(1);
        Ok(())
    }

    pub(crate) fn ttl(&self) -> Duration {
        self.ttl
    }

    pub(crate) fn max_uses(&self) -> Option<u32> {
        self.max_uses
    }

    pub(crate) fn logins(&self) -> u64 {
        self.lock().logins
    }

    pub(crate) fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    pub(crate) fn remembered(&self) -> Vec<String> {
        self.lock().remembered.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
        // Every update is a single map operation or counter: a poisoned lock is still usable.
        self.table
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The token in an `Authorization` value: raw as public code sends it, or after a `Bearer `
/// scheme (any case), which HTTP clients add by habit.
fn bare_token(value: &str) -> &str {
    let value = value.trim();
    match value.get(..7) {
        Some(scheme) if scheme.eq_ignore_ascii_case("bearer ") => {
            value.get(7..).unwrap_or_default().trim()
        }
        _ => value,
    }
}

/// `<kind>-` + 64 hex digits (32 random bytes).
fn random_token(kind: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let mut token = String::with_capacity(kind.len() + 65);
    token.push_str(kind);
    token.push('-');
    for b in bytes {
        token.push_str(&format!("{b:02x}"));
    }
    token
}
