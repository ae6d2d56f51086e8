//! The facility's 事後確認 on the shared journal: checks queued at two desks during an outage
//! are re-confirmed once, by the desk holding the database's lock, against the real mock
//! service over mutual TLS; a desk asking while another leads does nothing; the lock passes
//! on when the leader's session ends; and a desk's later change to a record the facility
//! settled never undoes the settlement. Needs the test cluster (`bash scripts/test`).

mod common;

use std::path::Path;

use common::postgres::TestDatabase;
use common::{MockService, AS_OF};
use onshi_desk::check::Reconfirmer;
use onshi_desk::config::Config;
use onshi_desk::domain::search::{NumberSearch, Search};
use onshi_desk::domain::{InsurerNumber, VerdictKind};
use onshi_desk::journal::shared::facility::Leadership;
use onshi_desk::journal::{Journal, JournalOptions, NewCheck};
use onshi_desk::online::OnlineClient;
use time::macros::date;
use time::OffsetDateTime;

fn client(config: &Path) -> OnlineClient {
    OnlineClient::new(&Config::load(Some(config)).expect("config")).expect("client")
}

fn valid_numbers() -> Search {
    Search::Numbers(NumberSearch {
        insurer: InsurerNumber::parse("01130012").expect("insurer"),
        symbol: Some("5012345".into()),
        number: "1024".into(),
        branch: Some("00".into()),
        birthdate: date!(1980 - 04 - 01),
        limit_consent: false,
    })
}

fn desk(db: &TestDatabase, dir: &Path, id: &str) -> Journal {
    Journal::open_with(
        &dir.join(format!("{id}.sqlite3")),
        JournalOptions {
            shared: Some(db.config(id)),
            ..JournalOptions::default()
        },
    )
    .expect("journal")
}

/// (status, printouts_json, facility-owned) of the record `desk` made as `local`.
fn shared_row(db: &TestDatabase, desk: &str, local: i64) -> (String, String, bool) {
    let row = db
        .client()
        .query_one(
            "SELECT status, printouts_json, facility_owned_at IS NOT NULL FROM checks
             WHERE desk = $1 AND desk_check_id = $2",
            &[&desk as &(dyn postgres::types::ToSql + Sync), &local],
        )
        .expect("row");
    (row.get(0), row.get(1), row.get(2))
}

#[test]
fn the_facility_reconfirms_every_desks_queue_once_under_one_leader() {
    let db = TestDatabase::create("facility");
    let dir = tempfile::tempdir().expect("tmp");
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .to_string();
    let service = MockService::start(&[]);
    let (up_dir, down_dir) = (dir.path().join("up"), dir.path().join("down"));
    for d in [&up_dir, &down_dir] {
        std::fs::create_dir_all(d).expect("dir");
    }
    // The same desk configuration, once with the service's port closed (the outage).
    let down = client(&service.config(&down_dir, |t| t.replace(&service.addr, &closed)));
    let up = service.config(&up_dir, |t| t);
    let (a, b) = (
        desk(&db, dir.path(), "desk-a"),
        desk(&db, dir.path(), "desk-b"),
    );
    let search = valid_numbers();
    let verdict = down.confirm(&search, AS_OF);
    assert_eq!(verdict.kind, VerdictKind::Unreachable);
    let at_a = a
        .record(NewCheck::from_online(&search, AS_OF, &verdict))
        .expect("record at A");
    let at_b = b
        .record(NewCheck::from_online(&search, AS_OF, &verdict))
        .expect("record at B");
    assert_eq!(shared_row(&db, "desk-a", at_a.0).0, "queued");
    assert_eq!(shared_row(&db, "desk-b", at_b.0).0, "queued");

    // Another desk leads now: B's round does nothing.
    let held = Leadership::try_take(&db.config("someone"))
        .expect("lock")
        .expect("free at first");
    let r = Reconfirmer::new(b.clone(), client(&up))
        .run_once(OffsetDateTime::now_utc(), true)
        .expect("round");
    assert!(r.led_elsewhere, "{r:?}");
    assert_eq!(shared_row(&db, "desk-b", at_b.0).0, "queued");
    // The leader's session ends (its desk closed or died): the lock is free again.
    drop(held);
    let r = Reconfirmer::new(a.clone(), client(&up))
        .run_once(OffsetDateTime::now_utc(), true)
        .expect("round");
    assert!(!r.led_elsewhere, "{r:?}");
    assert_eq!(r.reconfirmed, 2, "both desks' checks, once: {r:?}");
    assert_eq!(shared_row(&db, "desk-a", at_a.0).0, "reconfirmed");
    assert_eq!(shared_row(&db, "desk-b", at_b.0).0, "reconfirmed");
    // Again: nothing left to do.
    let again = Reconfirmer::new(b.clone(), client(&up))
        .run_once(OffsetDateTime::now_utc(), true)
        .expect("round");
    assert_eq!(again.attempted, 0, "{again:?}");

    // Desk B prints for that check afterwards: the printout reaches the shared journal, the
    // facility's settlement stays.
    b.add_printout(at_b, Path::new("/tmp/printout.pdf"))
        .expect("printout");
    let (status, printouts, owned) = shared_row(&db, "desk-b", at_b.0);
    assert_eq!(status, "reconfirmed");
    assert!(owned);
    assert!(printouts.contains("printout.pdf"), "{printouts}");
}
