//! Issue 13, "words and formats a clerk expects", through the desk's UI (egui_kittest, the demo
//! backends): dates in 和暦, 限度額 by its meaning, no English and no repeated sentence on
//! screen, a face-auth card never asked about a PIN, ● explained, 和暦 in the history search,
//! and month-end CSV files as Japanese Excel reads them.

mod common;
mod desk_harness;

use desk_harness::*;
use egui_kittest::kittest::{NodeT, Queryable};
use egui_kittest::Harness;
use onshi_desk::app::demo::DEMO_CARDS;
use onshi_desk::app::state::{IdentityMode, Screen};
use onshi_desk::app::DeskApp;
use onshi_desk::domain::text::GAIJI_EXPLANATION;
use onshi_desk::domain::VerdictKind;

/// Every text on screen (labels and button texts), the demo card panel left out: it is the
/// demo's, not the desk's.
fn desk_texts(h: &Harness<'_, DeskApp>) -> Vec<String> {
    let demo_panel: Vec<String> = DEMO_CARDS
        .iter()
        .map(|c| format!("{}\n{}", c.label, c.outcome))
        .collect();
    let is_demo = |t: &str| {
        demo_panel.iter().any(|d| d == t)
            || t == "デモ用カード"
            || t.starts_with("タップでリーダーに置きます。")
            || t.starts_with("このカードの暗証番号")
            || t == "カードを取る"
            || t == "カードを新品に戻す"
            || t.starts_with("取ったカードは")
    };
    // AccessKit keeps a label's text in its value, a button's in its label.
    let text = |n: &egui_kittest::kittest::AccessKitNode<'_>| {
        if n.role() == egui::accesskit::Role::Label {
            n.value()
        } else {
            n.label()
        }
    };
    h.query_all_by(move |n| text(n).is_some_and(|t| !t.trim().is_empty()))
        .filter_map(move |n| text(&n.accesskit_node()))
        .filter(|t| !is_demo(t))
        .collect()
}

/// Words of four or more ASCII letters (English, a Rust `Debug` name, an error's `Display`):
/// none belongs on the desk. A file path (a run holding `/`) is a place, not a word.
fn english_words(texts: &[String]) -> Vec<String> {
    let mut found = Vec::new();
    for t in texts {
        let runs = t.split(|c: char| {
            !(c.is_ascii_alphanumeric() || matches!(c, '/' | '\\' | '.' | '_' | '-' | '~' | ':'))
        });
        for run in runs.filter(|r| !r.contains(['/', '\\'])) {
            for word in run.split(|c: char| !c.is_ascii_alphabetic()) {
                if word.len() >= 4 {
                    found.push(format!("{word:?} in {t:?}"));
                }
            }
        }
    }
    found
}

/// Sentences (the desk ends each with 。) said twice on one screen. Values in a table (two
/// dates that happen to be equal) are not sentences.
fn repeated_sentences(texts: &[String]) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    let mut repeated = Vec::new();
    for t in texts.iter().filter(|t| t.contains('。')) {
        for sentence in t.split(['。', '\n']).map(str::trim) {
            // Short pieces (「有効」) may well appear twice.
            if sentence.chars().count() < 6 {
                continue;
            }
            if !seen.insert(sentence.to_owned()) {
                repeated.push(sentence.to_owned());
            }
        }
    }
    repeated
}

fn assert_clerk_words(h: &Harness<'_, DeskApp>, screen_name: &str) {
    let texts = desk_texts(h);
    assert!(!texts.is_empty(), "{screen_name}: nothing on screen");
    let english = english_words(&texts);
    assert!(
        english.is_empty(),
        "{screen_name}: English on screen: {english:?}"
    );
    let repeated = repeated_sentences(&texts);
    assert!(
        repeated.is_empty(),
        "{screen_name}: said twice: {repeated:?}"
    );
}

fn pin_check(h: &mut Harness<'_, DeskApp>, persona: &str, pin: &str) {
    place(h, persona);
    until(h, "the PIN keypad", |s| {
        matches!(identity_mode(s), Some(IdentityMode::Pin { .. }))
    });
    type_digits(h, pin);
    tap(h, "決定");
    until(h, "the verdict", |s| verdict(s).is_some());
}

#[test]
fn the_result_shows_dates_in_wareki_and_the_limit_category_by_its_meaning() {
    let mut h = harness();
    pin_check(&mut h, "valid", "1234");
    assert_eq!(verdict(screen(&h)), Some(VerdictKind::Valid));
    // 生年月日 1980-04-01 and 資格取得日 2015-04-01, as receipt computers show them.
    h.get_by_label("昭和55年4月1日");
    h.get_by_label("平成27年4月1日");
    assert!(h.query_by_label_contains("1980-04-01").is_none());
    assert!(h.query_by_label_contains("2015-04-01").is_none());
    // 限度額 A03 is 区分ウ, with what it means and the code as received beneath it.
    h.get_by_label("区分ウ");
    h.get_by_label_contains("年収約370〜約770万円");
    h.get_by_label_contains("コード A03");
    assert!(h.query_by_label("A03").is_none(), "the raw code alone");
    assert_clerk_words(&h, "valid result");
}

#[test]
fn a_name_with_a_gaiji_mark_is_explained() {
    let mut h = harness();
    check_visually(&mut h, "large-cert");
    h.get_by_label("渡辺 ●介");
    h.get_by_label(GAIJI_EXPLANATION);
    assert_clerk_words(&h, "result with ●");
    // A name without ● needs no explanation.
    tap(&mut h, "受付完了");
    pin_check(&mut h, "valid", "1234");
    assert!(h.query_by_label(GAIJI_EXPLANATION).is_none());
}

#[test]
fn the_face_auth_card_screen_does_not_speak_of_a_pin() {
    let mut h = harness();
    place(&mut h, "face-auth");
    until(&mut h, "visual check offered", |s| {
        matches!(identity_mode(s), Some(IdentityMode::PinUnavailable))
    });
    let texts = desk_texts(&h);
    let pin_words: Vec<&String> = texts
        .iter()
        .filter(|t| t.contains("暗証番号") || t.contains("PIN"))
        .collect();
    assert!(pin_words.is_empty(), "{pin_words:?}");
    h.get_by_label("職員が目視で確認する");
    assert_clerk_words(&h, "face-auth card");
}

#[test]
fn screens_speak_japanese_and_say_each_thing_once() {
    let mut h = harness();
    assert_clerk_words(&h, "waiting");
    // A card that is not a My Number card: the problem screen, whose English detail is for
    // the log only.
    let other = DEMO_CARDS
        .iter()
        .find(|c| c.persona.is_none())
        .expect("a card that is not a My Number card");
    h.state()
        .running()
        .and_then(|r| r.demo.as_ref())
        .expect("demo env")
        .place(other)
        .expect("place");
    until(&mut h, "the problem screen", |s| {
        matches!(s, Screen::Problem(_))
    });
    assert_clerk_words(&h, "not a My Number card");
    tap(&mut h, "はじめに戻る");
    // The PIN keypad, and each verdict a card gives.
    place(&mut h, "valid");
    until(&mut h, "the PIN keypad", |s| {
        matches!(identity_mode(s), Some(IdentityMode::Pin { .. }))
    });
    assert_clerk_words(&h, "PIN keypad");
    tap(&mut h, "やめる");
    for persona in [
        "elderly",
        "expired-grace",
        "small-cert",
        "system-error",
        "face-auth",
        "pin-one-left",
        "not-registered",
    ] {
        check_visually(&mut h, persona);
        assert_clerk_words(&h, persona);
        match verdict(screen(&h)) {
            Some(VerdictKind::Valid | VerdictKind::CertificateExpiredGrace) => {
                tap(&mut h, "受付完了")
            }
            _ => tap(&mut h, "はじめに戻る"),
        }
    }
}

#[test]
fn a_check_not_recorded_is_said_once() {
    let dir = test_dir();
    let mut h = harness_with(&dir, |env| {
        // A journal file whose folder is a file: it cannot be created.
        std::fs::write(dir.join("not-a-folder"), b"x").expect("file");
        env.journal = dir.join("not-a-folder").join("journal.sqlite3");
    });
    check_visually(&mut h, "valid");
    let texts = desk_texts(&h);
    let said: Vec<&String> = texts
        .iter()
        .filter(|t| t.contains("記録されていません") || t.contains("記録できませんでした"))
        .collect();
    assert_eq!(said.len(), 1, "{said:?} in {texts:?}");
    assert_eq!(
        said[0].matches("記録されていません").count() + said[0].matches("記録できません").count(),
        1,
        "{said:?}"
    );
    assert_clerk_words(&h, "not recorded");
}

#[test]
fn staff_screens_and_card_dates_speak_japanese() {
    let mut h = harness();
    tap(&mut h, "受付記録");
    until(&mut h, "the history", |s| {
        history(s).is_some_and(|h| h.loading.is_none())
    });
    assert_clerk_words(&h, "history");
    tap(&mut h, "閉じる");
    tap(&mut h, "保険証番号で確認");
    assert!(matches!(screen(&h), Screen::Numbers(_)));
    assert_clerk_words(&h, "numbers form");
    act(&mut h, onshi_desk::app::state::Action::Done);
    // The card's certificate date, as the patient reads the card: 和暦.
    place(&mut h, "expiring-soon");
    until(&mut h, "the identity screen", |s| {
        identity_mode(s).is_some()
    });
    h.get_by_label_contains("電子証明書の有効期限が近づいています(令和");
    assert_clerk_words(&h, "expiring certificate");
}

#[test]
fn the_claim_path_speaks_japanese_and_says_each_thing_once() {
    let mut h = harness();
    check_visually(&mut h, "pin-blocked");
    assert_eq!(verdict(screen(&h)), Some(VerdictKind::NoRecord));
    assert_clerk_words(&h, "no record");
    tap(&mut h, "他の方法で資格を確認");
    until(&mut h, "the claim path", |s| claim(s).is_some());
    assert_clerk_words(&h, "claim path");
}

#[test]
fn the_history_finds_a_patient_by_a_birth_date_typed_in_wareki() {
    let mut h = harness();
    pin_check(&mut h, "valid", "1234");
    tap(&mut h, "受付完了");
    tap(&mut h, "受付記録");
    until(&mut h, "the history", |s| {
        history(s).is_some_and(|h| h.loading.is_none())
    });
    for query in ["S55.4.1", "昭和55年4月1日", "Ｓ５５．４．１", "1980/4/1"] {
        search_history(&mut h, query);
        assert_eq!(history_names(&h), vec!["山田 花子".to_owned()], "{query}");
    }
    // A date outside its era finds nothing rather than another day.
    search_history(&mut h, "H32.4.1");
    assert!(history_names(&h).is_empty());
}

#[test]
fn month_end_reports_open_in_japanese_excel() {
    use onshi_desk::journal::{CheckKind, CheckStatus, Journal, NewCheck};
    let dir = test_dir();
    let mut h = harness_with(&dir, |env| {
        let journal = Journal::open(&env.journal).expect("journal");
        let mut c = NewCheck::empty(CheckKind::Card, common::AS_OF);
        c.verdict = Some(VerdictKind::Unreachable);
        c.name = Some("渡辺 ●介".into());
        c.status = Some(CheckStatus::Queued);
        journal.record(c).expect("record");
    });
    tap(&mut h, "受付記録");
    until(&mut h, "the history", |s| {
        history(s).is_some_and(|h| h.loading.is_none())
    });
    // The history lists a name with ●: explained there too.
    h.get_by_label(GAIJI_EXPLANATION);
    tap(&mut h, "今月分を保存");
    until(&mut h, "the reports", |s| {
        history(s).is_some_and(|h| h.exporting.is_none())
    });
    let reports = dir.join("reports");
    for (file, header) in [
        (
            "unresolved-2026-11.csv",
            "受付記録番号,記録日時(日本時間),受付日,",
        ),
        ("usage.csv", "月,マイナ保険証での確認,"),
    ] {
        let bytes = std::fs::read(reports.join(file)).expect("csv");
        // As Excel opens it: the BOM says UTF-8, then the text decodes without a fault.
        let (encoding, bom) = encoding_rs::Encoding::for_bom(&bytes).expect("a BOM");
        assert_eq!((encoding, bom), (encoding_rs::UTF_8, 3), "{file}");
        let (text, _, errors) = encoding_rs::UTF_8.decode(&bytes[bom..]);
        assert!(!errors, "{file}");
        assert!(text.starts_with(header), "{file}: {text}");
        assert!(text.ends_with("\r\n"), "{file}");
        assert!(
            !text.replace("\r\n", "").contains('\n'),
            "{file}: CRLF only"
        );
        if file.starts_with("unresolved") {
            assert!(text.contains("渡辺 ●介"), "{text}");
            // The recorded time in Japan time, never UTC.
            assert!(text.contains("+09:00,2026-11-21,"), "{text}");
            assert!(!text.contains("Z,2026-11-21,"), "{text}");
        }
    }
}

#[test]
fn the_journal_cli_writes_shift_jis_on_request_and_marks_what_it_lacks() {
    use onshi_desk::journal::{CheckKind, Journal, NewCheck};
    let dir = test_dir();
    let path = dir.join("journal.sqlite3");
    let journal = Journal::open(&path).expect("journal");
    for name in ["山田 花子", "𠮷田 太郎"] {
        let mut c = NewCheck::empty(CheckKind::Card, common::AS_OF);
        c.verdict = Some(VerdictKind::Valid);
        c.name = Some(name.into());
        journal.record(c).expect("record");
    }
    drop(journal);
    let export = |extra: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_onshi-desk"))
            .arg("journal")
            .arg("--journal")
            .arg(&path)
            .args(["export", "--csv"])
            .args(extra)
            .env("ONSHI_CONFIG", "/nonexistent/onshi-config.toml")
            .output()
            .expect("run onshi-desk");
        assert!(out.status.success(), "{out:?}");
        out.stdout
    };
    let sjis = export(&["--encoding", "shift_jis"]);
    assert!(encoding_rs::Encoding::for_bom(&sjis).is_none());
    let (text, _, errors) = encoding_rs::SHIFT_JIS.decode(&sjis);
    assert!(!errors);
    assert!(
        text.starts_with("受付記録番号,記録日時(日本時間),"),
        "{text}"
    );
    assert!(text.contains("山田 花子"), "{text}");
    // 𠮷 is not in Shift_JIS: written as ●, the service's own mark for it.
    assert!(text.contains("●田 太郎"), "{text}");
    // The default is UTF-8 with BOM, every character kept.
    let utf8 = export(&[]);
    assert_eq!(&utf8[..3], b"\xEF\xBB\xBF");
    assert!(String::from_utf8_lossy(&utf8).contains("𠮷田 太郎"));
}

#[test]
fn the_number_search_reads_wareki_and_refuses_a_year_past_its_era() {
    let form = |birth: &str| onshi_desk::app::state::NumbersForm {
        insurer: "01130012".into(),
        symbol: "5012345".into(),
        number: "1024".into(),
        branch: "00".into(),
        birth: birth.into(),
        problems: Vec::new(),
    };
    let mut h = harness();
    tap(&mut h, "保険証番号で確認");
    // 平成32年 was never a year (令和2年): said under the field, in Japanese, not guessed.
    act(
        &mut h,
        onshi_desk::app::state::Action::EditNumbers(form("平成32年4月1日")),
    );
    tap(&mut h, "オンラインで確認");
    match screen(&h) {
        Screen::Numbers(f) => {
            let birth: Vec<&String> = f
                .problems
                .iter()
                .filter(|(field, _)| *field == "birth")
                .map(|(_, m)| m)
                .collect();
            assert!(
                birth.len() == 1 && birth[0].contains("平成の期間外"),
                "{birth:?}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_clerk_words(&h, "numbers form with a bad date");
    // 昭和55年4月1日 in full-width digits finds the patient.
    act(
        &mut h,
        onshi_desk::app::state::Action::EditNumbers(form("昭和５５年４月１日")),
    );
    // The field errors are gone: let the layout settle before the tap.
    h.step();
    h.step();
    tap(&mut h, "オンラインで確認");
    until(&mut h, "the verdict", |s| verdict(s).is_some());
    assert_eq!(verdict(screen(&h)), Some(VerdictKind::Valid));
}
