//! The facility's shared journal on PostgreSQL (`[journal] url`): several desks, one history.
//!
//! # Design: each desk writes locally first, then forwards
//!
//! Every desk keeps its SQLite journal ([`crate::journal::Journal`]) exactly as a single desk
//! does, and **forwards** each row it commits to the shared journal from the same writer
//! thread, before the desk is told the check is done. What that gives:
//!
//! - **Synchronous when the database is there.** [`Journal::record`](crate::journal::Journal::record)
//!   returns after the local commit *and* the shared one (`synchronous_commit = on`, set by
//!   this client whatever the server's default).
//! - **Offline without a second code path.** When the database cannot be reached the local
//!   commit already happened: the desk goes on, says it works offline
//!   ([`SharedStatus`]), and the writer retries with a growing pause (2 s up to 30 s). Every
//!   write rule (status changes, the retention of certificates, the claim path) stays in one
//!   place: the SQLite writer.
//! - **Exactly once, in order.** A local row carries a `revision` (a trigger raises it on every
//!   change) and the last `forwarded_revision`. Forwarding sends the rows whose revision is
//!   ahead, in the desk's id order, as an upsert keyed by (desk, the desk's id) that applies
//!   only a newer revision; the local mark is set after the shared commit. A desk killed
//!   between the two sends the row again on restart and the database ignores it (same
//!   revision): nothing is lost, nothing is counted twice.
//!
//! # Who owns what
//!
//! The desk owns its rows until the facility takes one over: after-the-fact confirmation
//! (事後確認) runs once for the whole facility, on the desk holding the database's advisory
//! lock ([`RECONFIRM_LOCK`]), and settles records in the shared journal; staff close or complete
//! records there too. Such a record is marked `facility_owned_at`, and from then on a desk's
//! later forward of it brings only what only the desk knows (printouts, the receipt-computer
//! file, 公費 typed from paper): it never undoes the facility's status, numbers or settlement
//! (`forward.rs`). The desk's SQLite copy of such a record keeps what the desk last knew; the
//! history, search, month-end reports and card-use rate read the shared journal, with the desk
//! that made each check.
//!
//! Not forwarded: deleting records (`journal purge --before` on a desk removes its local
//! copies only; the shared journal is purged on its own).

mod connect;
pub mod facility;
pub mod forward;
pub mod schema;

pub use self::connect::{connect, CONNECT_TIMEOUT, STATEMENT_TIMEOUT};

use time::OffsetDateTime;

/// The advisory lock a desk holds while it runs a round of after-the-fact confirmation
/// (事後確認) for the facility. Session-level: released when the round ends, or when the desk
/// dies and its connection drops, so another desk takes over.
pub const RECONFIRM_LOCK: i64 = 0x006f_7173_2d72_6563; // "oqs-rec"

/// Where this desk stands with the shared journal, for the desk's indicator and the logs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SharedStatus {
    /// The last forward reached the database (or nothing needed forwarding and the last
    /// contact worked).
    pub online: bool,
    /// Local records not yet in the shared journal.
    pub unforwarded: u64,
    /// Since when the database has been unreachable.
    pub offline_since: Option<OffsetDateTime>,
    /// Why (English, for logs and staff; never the password).
    pub detail: Option<String>,
    /// How long the last batch sent took to be committed in the shared journal (one round
    /// trip with its synchronous commit): the shared part of the desk's wait, apart from its
    /// own file's commit. For the logs and the write benchmark.
    pub last_send: Option<std::time::Duration>,
    /// The shared journal holds other checks under this desk's id
    /// ([`crate::journal::JournalError::SharedIdClash`]): forwarding waits for staff.
    pub id_clash: bool,
}

/// The desk's view of [`SharedStatus`], kept current by the journal's writer thread (cheap to
/// clone and to read each frame).
#[derive(Clone, Debug)]
pub struct StatusBoard(pub(crate) std::sync::Arc<std::sync::Mutex<SharedStatus>>);

impl StatusBoard {
    /// The status now.
    pub fn snapshot(&self) -> SharedStatus {
        self.0.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

impl SharedStatus {
    /// What the desk shows while the shared journal is out of reach, in Japanese; `None` when
    /// all is forwarded.
    pub fn desk_message(&self) -> Option<String> {
        let not_tried_yet = !self.online && self.offline_since.is_none();
        if not_tried_yet || (self.online && self.unforwarded == 0) {
            return None;
        }
        if self.id_clash {
            return Some(format!(
                "共有の受付記録に同じ端末名の別の記録があるため送信を止めています。この端末には記録されています(未送信 {} 件)。システム担当者に端末名(desk_id)の変更を依頼してください。",
                self.unforwarded
            ));
        }
        if self.online {
            return Some(format!(
                "共有の受付記録へ送信中です(未送信 {} 件)。",
                self.unforwarded
            ));
        }
        Some(format!(
            "共有の受付記録(データベース)に接続できません。この端末に記録して受付を続けられます(未送信 {} 件、接続が戻ると自動で送信します)。",
            self.unforwarded
        ))
    }
}
