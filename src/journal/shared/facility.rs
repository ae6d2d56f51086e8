//! The facility's own writes in the shared journal: after-the-fact confirmation (事後確認) for
//! every desk's queued checks, led by one desk at a time, and the retention rule.
//!
//! The statements are the SQLite writer's (`writer.rs`, `sql`), rendered for PostgreSQL: one
//! rule, two stores. Each write that settles or touches a record also marks it
//! `facility_owned_at` in the same transaction, so the desk that made the check never
//! forwards its older view over the facility's (see [`super`]).

use std::sync::Mutex;

use postgres::types::ToSql;
use postgres::Client;
use time::{Date, OffsetDateTime};

use super::RECONFIRM_LOCK;
use crate::config::SharedJournalConfig;
use crate::journal::columns::stored_name;
use crate::journal::connection::timestamp;
use crate::journal::writer::sql;
use crate::journal::{
    CheckId, CheckRecord, CheckStatus, JournalError, JournalReader, ReconfirmOutcome, Settlement,
};

/// How long the database keeps a leader's lock session that went silent (its desk lost power
/// or its cable) before it ends the session and frees the lock for another desk: longer than a
/// round's longest wait on the service, so a working leader is never cut off mid-round.
pub const LEADER_IDLE_TIMEOUT_S: u64 = 300;

/// A statement written with SQLite's `?N` placeholders, with PostgreSQL's `$N`.
fn pg(sqlite: &str) -> String {
    crate::journal::query::Dialect::Postgres.render(sqlite)
}

/// The shared journal as the facility writes it.
pub struct FacilityJournal {
    client: Mutex<Client>,
    /// The facility-wide reads (a connection of its own: the reader's SQL and row mapping are
    /// the history's).
    reader: Mutex<JournalReader>,
}

/// This desk leads the facility's 事後確認 while it holds this (the database's advisory lock
/// on a session of its own); dropping it ends the session and frees the lock.
pub struct Leadership {
    _lock: Client,
    journal: FacilityJournal,
}

impl Leadership {
    /// Takes the lead if no other desk holds it: `Ok(None)` when another desk leads now.
    pub fn try_take(config: &SharedJournalConfig) -> Result<Option<Leadership>, JournalError> {
        let mut lock = super::connect(config)?;
        lock.batch_execute(&format!(
            "SET idle_session_timeout = '{LEADER_IDLE_TIMEOUT_S}s'"
        ))?;
        let taken: bool = lock
            .query_one("SELECT pg_try_advisory_lock($1)", &[&RECONFIRM_LOCK])?
            .get(0);
        if !taken {
            return Ok(None);
        }
        Ok(Some(Leadership {
            _lock: lock,
            journal: FacilityJournal::connect(config)?,
        }))
    }

    /// The shared journal, to settle records with while leading.
    pub fn journal(&self) -> &FacilityJournal {
        &self.journal
    }
}

fn status(s: CheckStatus) -> &'static str {
    s.as_str()
}

impl FacilityJournal {
    /// A connection to the shared journal (migrated to this program's schema).
    pub fn connect(config: &SharedJournalConfig) -> Result<FacilityJournal, JournalError> {
        let mut client = super::connect(config)?;
        super::schema::migrate(&mut client)?;
        Ok(FacilityJournal {
            client: Mutex::new(client),
            reader: Mutex::new(JournalReader::open_shared(config)?),
        })
    }

    fn with<R>(
        &self,
        f: impl FnOnce(&mut Client) -> Result<R, JournalError>,
    ) -> Result<R, JournalError> {
        let mut client = self
            .client
            .lock()
            .map_err(|_| JournalError::Other("shared journal connection poisoned".into()))?;
        f(&mut client)
    }

    /// Runs `statement` (SQLite form) and, when it changed the row, marks the record the
    /// facility's, in one transaction. Returns the rows changed.
    fn owned_update(
        &self,
        id: CheckId,
        statement: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, JournalError> {
        self.with(|client| {
            let mut tx = client.transaction()?;
            let n = tx.execute(&pg(statement), params)?;
            if n > 0 {
                take_over(&mut tx, id)?;
            }
            tx.commit()?;
            Ok(n)
        })
    }

    /// As [`crate::journal::Journal::note_attempt`], in the shared journal.
    pub fn note_attempt(
        &self,
        id: CheckId,
        next_attempt_at: OffsetDateTime,
        detail: String,
    ) -> Result<(), JournalError> {
        let next = timestamp(next_attempt_at);
        self.owned_update(
            id,
            sql::NOTE_ATTEMPT,
            &[&id.0, &next, &detail, &status(CheckStatus::Queued)],
        )?;
        Ok(())
    }

    /// As [`crate::journal::Journal::settle`], in the shared journal: conditional on the
    /// record still being queued, so two leaders (one that lost its lock mid-round) never
    /// apply twice.
    pub fn settle(&self, id: CheckId, r: Settlement) -> Result<bool, JournalError> {
        let at = timestamp(r.at);
        let verdict = stored_name(&r.verdict);
        let validity = r.validity.map(i64::from);
        self.with(|client| {
            let mut tx = client.transaction()?;
            let n = match &r.outcome {
                ReconfirmOutcome::Conflict(detail) => tx.execute(
                    &pg(sql::SETTLE_CONFLICT),
                    &[
                        &id.0,
                        detail,
                        &at,
                        &verdict,
                        &validity,
                        &status(CheckStatus::Conflict),
                        &status(CheckStatus::Queued),
                    ],
                )?,
                ReconfirmOutcome::Confirmed {
                    numbers,
                    name,
                    name_kana,
                    birthdate,
                    receipt,
                } => {
                    let birthdate = birthdate.map(|d| d.to_string());
                    let n = tx.execute(
                        &pg(sql::SETTLE_CONFIRMED),
                        &[
                            &id.0,
                            &at,
                            &verdict,
                            &validity,
                            name,
                            name_kana,
                            &birthdate,
                            &status(CheckStatus::Reconfirmed),
                            &status(CheckStatus::Queued),
                        ],
                    )?;
                    if n > 0 {
                        if let Some(nums) = numbers {
                            tx.execute(
                                &pg(sql::SETTLE_NUMBERS),
                                &[
                                    &id.0,
                                    &nums.insurer_number,
                                    &nums.symbol,
                                    &nums.number,
                                    &nums.branch,
                                ],
                            )?;
                        }
                        if let Some(claim) = receipt {
                            let json = serde_json::to_string(&claim.1)?;
                            tx.execute(
                                &pg(sql::SETTLE_RECEIPT),
                                &[
                                    &id.0,
                                    &stored_name(&claim.0),
                                    &json,
                                    &claim.1.insurer_number(),
                                ],
                            )?;
                        }
                    }
                    n
                }
            };
            if n > 0 {
                take_over(&mut tx, id)?;
            }
            tx.commit()?;
            Ok(n > 0)
        })
    }

    /// As [`crate::journal::Journal::resolve`], for record `id` of the shared journal (any
    /// desk's): staff closed it. [`JournalError::NotOpen`] when it is neither queued, in
    /// conflict nor abandoned.
    pub fn resolve(&self, id: CheckId, at: OffsetDateTime) -> Result<(), JournalError> {
        let note = format!("closed by staff at {}", timestamp(at));
        let n = self.owned_update(
            id,
            sql::RESOLVE,
            &[
                &id.0,
                &note,
                &status(CheckStatus::Done),
                &status(CheckStatus::Queued),
                &status(CheckStatus::Conflict),
                &status(CheckStatus::Abandoned),
            ],
        )?;
        if n == 0 {
            let exists =
                self.with(|c| Ok(c.query_opt("SELECT 1 FROM checks WHERE id = $1", &[&id.0])?))?;
            return Err(match exists {
                Some(_) => JournalError::NotOpen(id.0),
                None => JournalError::NotFound(id.0),
            });
        }
        Ok(())
    }

    /// The shared copy of a record `desk` closed under its own number `local`, when the
    /// facility owns it (otherwise the desk's forward brings the change). Nothing to do is no
    /// error: the record may not be forwarded yet, or not be open there.
    pub fn resolve_desk_record(
        &self,
        desk: &str,
        local: CheckId,
        at: OffsetDateTime,
    ) -> Result<(), JournalError> {
        let id: Option<i64> = self.with(|c| {
            Ok(c.query_opt(
                "SELECT id FROM checks WHERE desk = $1 AND desk_check_id = $2
                   AND facility_owned_at IS NOT NULL",
                &[&desk, &local.0],
            )?
            .map(|r| r.get(0)))
        })?;
        match id.map(|id| self.resolve(CheckId(id), at)) {
            None | Some(Ok(())) | Some(Err(JournalError::NotOpen(_))) => Ok(()),
            Some(Err(e)) => Err(e),
        }
    }

    /// As [`crate::journal::Journal::purge_certificates`], over every desk's records.
    pub fn purge_certificates(&self, before: Date) -> Result<u64, JournalError> {
        let before = before.to_string();
        self.with(|client| {
            Ok(client.execute(
                &pg(sql::PURGE_CERTIFICATES),
                &[&before, &status(CheckStatus::Queued)],
            )?)
        })
    }

    /// Every desk's queued checks whose next attempt is due at `now` (all of them with
    /// `ignore_backoff`), oldest first; as [`JournalReader::due`] on a desk's file.
    pub fn due(
        &self,
        now: OffsetDateTime,
        ignore_backoff: bool,
    ) -> Result<Vec<CheckRecord>, JournalError> {
        self.read(|r| r.due(now, ignore_backoff))
    }

    /// The certificate (DER) held for a queued check, if any.
    pub fn certificate(&self, id: CheckId) -> Result<Option<Vec<u8>>, JournalError> {
        self.read(|r| r.certificate(id))
    }

    fn read<R>(
        &self,
        f: impl FnOnce(&JournalReader) -> Result<R, JournalError>,
    ) -> Result<R, JournalError> {
        let reader = self
            .reader
            .lock()
            .map_err(|_| JournalError::Other("shared journal reader poisoned".into()))?;
        f(&reader)
    }

    /// Names the receipt-computer file written for a record the facility settled.
    pub fn set_interop_file(&self, id: CheckId, file: &str) -> Result<(), JournalError> {
        let n =
            self.with(|client| Ok(client.execute(&pg(sql::SET_INTEROP_FILE), &[&id.0, &file])?))?;
        if n == 0 {
            return Err(JournalError::NotFound(id.0));
        }
        Ok(())
    }
}

/// Marks a record the facility's (see the module documentation).
fn take_over(tx: &mut postgres::Transaction<'_>, id: CheckId) -> Result<(), JournalError> {
    tx.execute(
        "UPDATE checks SET facility_owned_at = $2 WHERE id = $1 AND facility_owned_at IS NULL",
        &[&id.0, &timestamp(OffsetDateTime::now_utc())],
    )?;
    Ok(())
}
