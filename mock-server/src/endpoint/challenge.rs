//! Server-issued challenges for the PIN method: 32 random bytes, single use, short-lived, so
//! a recorded card signature cannot be replayed.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rand::RngCore;

/// Bytes of challenge the card signs.
pub(crate) const CHALLENGE_BYTES: usize = 32;

/// Expired challenges are swept every this many issues, so an abandoned PIN flow cannot grow
/// the table for ever without making every issue walk it.
const SWEEP_EVERY: u64 = 1024;

/// A freshly issued challenge.
#[derive(Debug, Clone)]
pub(crate) struct Issued {
    /// `c-` + 32 hex digits.
    pub id: String,
    /// The bytes to sign.
    pub challenge: [u8; CHALLENGE_BYTES],
    /// Wall-clock end of validity, for `ValidUntil`.
    pub valid_until: time::OffsetDateTime,
}

struct Entry {
    challenge: [u8; CHALLENGE_BYTES],
    deadline: Instant,
}

struct Table {
    entries: HashMap<String, Entry>,
    issued: u64,
}

/// The outstanding challenges.
pub(crate) struct ChallengeStore {
    ttl: Duration,
    table: Mutex<Table>,
}

impl ChallengeStore {
    pub(crate) fn new(ttl: Duration) -> ChallengeStore {
        ChallengeStore {
            ttl,
            table: Mutex::new(Table {
                entries: HashMap::new(),
                issued: 0,
            }),
        }
    }

    /// Issues a new challenge.
    pub(crate) fn issue(&self) -> Issued {
        let mut rng = rand::thread_rng();
        let mut challenge = [0u8; CHALLENGE_BYTES];
        rng.fill_bytes(&mut challenge);
        let mut id_bytes = [0u8; 16];
        rng.fill_bytes(&mut id_bytes);
        let id = format!(
            "c-{}",
            id_bytes
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        );
        let now = Instant::now();
        let valid_until = time::OffsetDateTime::now_utc()
            + time::Duration::try_from(self.ttl).unwrap_or(time::Duration::MINUTE);
        let mut table = self.lock();
        table.issued += 1;
        if table.issued.is_multiple_of(SWEEP_EVERY) {
            table.entries.retain(|_, e| e.deadline > now);
        }
        table.entries.insert(
            id.clone(),
            Entry {
                challenge,
                deadline: now + self.ttl,
            },
        );
        Issued {
            id,
            challenge,
            valid_until,
        }
    }

    /// Takes the challenge out (single use: a second take of the same id fails, whatever the
    /// outcome of the first). `None` if unknown, already used or expired.
    pub(crate) fn take(&self, id: &str) -> Option<[u8; CHALLENGE_BYTES]> {
        let entry = self.lock().entries.remove(id)?;
        (Instant::now() <= entry.deadline).then_some(entry.challenge)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
        // A panic while holding the lock cannot leave the table inconsistent (every update
        // is a single map operation), so a poisoned lock is still usable.
        self.table
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
