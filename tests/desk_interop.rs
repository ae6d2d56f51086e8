//! The desk app with a receipt computer (`[interop] enabled`): its checks leave result files in
//! `face` through the real `FaceWriter`, it answers request files dropped in `req`, and the
//! waiting screen says when the shared folder is gone.

mod common;
mod desk_harness;

use std::path::Path;
use std::time::{Duration, Instant};

use desk_harness::*;
use egui_kittest::kittest::Queryable;

fn interop_desk(dir: &Path) -> egui_kittest::Harness<'static, onshi_desk::app::DeskApp> {
    let oqs = dir.join("oqs");
    std::fs::create_dir_all(&oqs).expect("the shared folder");
    harness_with(dir, |env| {
        env.config.interop.enabled = true;
        env.config.interop.folder = oqs.clone();
        env.config.interop.desk_id = "desk1".into();
        env.config.interop.poll = Duration::from_millis(50);
    })
}

/// Steps the desk until `done` holds (at most 30 s).
fn step_until(
    h: &mut egui_kittest::Harness<'static, onshi_desk::app::DeskApp>,
    what: &str,
    done: impl Fn(&egui_kittest::Harness<'static, onshi_desk::app::DeskApp>) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done(h) {
        assert!(Instant::now() < deadline, "waited in vain for {what}");
        h.step();
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| !n.starts_with('.'))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn the_desk_writes_face_files_answers_requests_and_says_when_the_share_is_gone() {
    let dir = test_dir();
    let mut h = interop_desk(&dir);
    let oqs = dir.join("oqs");

    // A card check at the desk → its result in face, named in the journal.
    check_visually(&mut h, "valid");
    let face = oqs.join("face");
    step_until(&mut h, "the face file", |_| files(&face).len() == 1);
    let name = files(&face).remove(0);
    assert!(name.starts_with("OQSsiquc01res_face_desk1_"), "{name}");
    let bytes = std::fs::read(face.join(&name)).expect("face file");
    let (text, _, bad) = encoding_rs::SHIFT_JIS.decode(&bytes);
    assert!(!bad);
    assert!(text.contains("<ReferenceClassification>1</ReferenceClassification>"));
    assert!(text.contains("<QualificationValidity>1</QualificationValidity>"));
    tap(&mut h, "受付完了");

    // A request from the receipt computer is answered by the desk's own watcher.
    let request = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<XmlMsg><MessageHeader><ReferenceClassification>2</ReferenceClassification><CharacterCodeIdentifier>0</CharacterCodeIdentifier></MessageHeader><MessageBody><QualificationConfirmSearchInfo><InsurerNumber>01130012</InsurerNumber><InsuredCardSymbol>5012345</InsuredCardSymbol><InsuredIdentificationNumber>1024</InsuredIdentificationNumber><Birthdate>19800401</Birthdate></QualificationConfirmSearchInfo></MessageBody></XmlMsg>\n";
    std::fs::write(oqs.join("req").join("OQSsiquc01req_r1.xml"), request).expect("request");
    let res = oqs.join("res");
    step_until(&mut h, "the result file", |_| {
        files(&res).contains(&"OQSsiquc01res_r1.xml".to_owned())
    });

    // The waiting screen shows the watcher; a vanished share is said in red, in Japanese.
    step_until(&mut h, "the watching line", |h| {
        h.query_by_label_contains("レセコン連携: 監視中").is_some()
    });
    std::fs::rename(oqs.join("req"), dir.join("req-away")).expect("unmount");
    step_until(&mut h, "the missing-share line", |h| {
        h.query_by_label_contains("共有フォルダが見つかりません")
            .is_some()
    });
    std::fs::rename(dir.join("req-away"), oqs.join("req")).expect("mount again");
    step_until(&mut h, "watching again", |h| {
        h.query_by_label_contains("レセコン連携: 監視中").is_some()
    });

    let journal =
        onshi_desk::journal::JournalReader::open(&dir.join("journal.sqlite3")).expect("journal");
    let mut recorded: Vec<String> = journal
        .list(&onshi_desk::journal::Filter::default())
        .expect("list")
        .into_iter()
        .filter_map(|c| c.interop_file)
        .collect();
    recorded.sort();
    assert_eq!(recorded, [name, "OQSsiquc01res_r1.xml".to_owned()]);
}
