//! Files from outside are read bounded and only when regular; files with secrets or patient
//! data are written owner-only, atomically, and never through a planted link.
//!
//! Real files, real devices (`/dev/zero`, `/dev/urandom`), real FIFOs and real links: what a
//! careless or hostile configuration would point the desk at.

#![cfg(unix)]

use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use onshi_desk::config::{Config, ConfigError};
use onshi_desk::online::OnlineClient;
use time::macros::date;

/// A generous "did not hang" bound: a refusal takes milliseconds.
const DID_NOT_HANG: Duration = Duration::from_secs(20);

/// Runs `f` on a thread and waits at most [`DID_NOT_HANG`] for its answer.
fn within_bound<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(DID_NOT_HANG)
        .unwrap_or_else(|_| panic!("{what}: no answer within {DID_NOT_HANG:?} (hang)"))
}

fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("run mkfifo");
    assert!(status.success(), "mkfifo {}", path.display());
    assert!(std::fs::metadata(path)
        .expect("fifo metadata")
        .file_type()
        .is_fifo());
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// A configuration using the real test TLS files, with one endpoint setting replaced.
fn config_with(dir: &Path, field: &str, value: &Path) -> PathBuf {
    let tls = onshi_mock::pki::tls::generate(dir, date!(2026 - 11 - 21)).expect("TLS PKI");
    let mut files = [
        ("ca", tls.server_ca_certificate),
        ("client_certificate", tls.facility_certificate),
        ("client_key", tls.facility_private_key),
    ];
    for (name, path) in files.iter_mut() {
        if *name == field {
            *path = value.to_path_buf();
        }
    }
    let [(_, ca), (_, cert), (_, key)] = files;
    let text = format!(
        "facility_code = \"1312345678\"\n[endpoint]\nurl = \"https://127.0.0.1:9/\"\n\
         ca = {:?}\nclient_certificate = {:?}\nclient_key = {:?}\n",
        ca.display().to_string(),
        cert.display().to_string(),
        key.display().to_string()
    );
    let path = dir.join("config.toml");
    std::fs::write(&path, text).expect("write config");
    path
}

#[test]
fn tls_files_at_dev_zero_dev_urandom_or_a_fifo_are_refused_naming_the_setting() {
    let dir = tempfile::tempdir().expect("tmp");
    let fifo = dir.path().join("key.fifo");
    mkfifo(&fifo);
    for field in ["ca", "client_certificate", "client_key"] {
        for target in [Path::new("/dev/zero"), Path::new("/dev/urandom"), &fifo] {
            let config = config_with(dir.path(), field, target);
            let what = format!("{field} = {}", target.display());
            let result = within_bound(&what, move || {
                let config = Config::load(Some(&config)).expect("the configuration itself is fine");
                OnlineClient::new(&config).map(|_| ())
            });
            match result {
                Err(ConfigError::Invalid {
                    field: named,
                    detail,
                }) => {
                    assert_eq!(named, format!("endpoint.{field}"), "{what}");
                    assert!(
                        detail.contains("not a regular file"),
                        "{what}: precise detail, got {detail:?}"
                    );
                    let message = ConfigError::Invalid {
                        field: named,
                        detail,
                    }
                    .desk_message();
                    assert!(message.contains(field), "{what}: {message}");
                }
                other => panic!("{what}: expected a refusal naming the setting, got {other:?}"),
            }
        }
    }
}

#[test]
fn a_configuration_file_that_is_a_device_or_a_fifo_is_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    let fifo = dir.path().join("config.fifo");
    mkfifo(&fifo);
    for target in [
        PathBuf::from("/dev/zero"),
        PathBuf::from("/dev/urandom"),
        fifo,
    ] {
        let what = target.display().to_string();
        let path = target.clone();
        let result = within_bound(&what, move || Config::load(Some(&path)).map(|_| ()));
        match result {
            Err(e @ ConfigError::Read { .. }) => {
                assert!(e.to_string().contains("not a regular file"), "{what}: {e}");
                assert!(e.desk_message().contains("設定ファイル"), "{what}");
            }
            other => panic!("{what}: expected a read refusal, got {other:?}"),
        }
    }
}

#[test]
fn an_oversized_configuration_file_is_refused_not_read_whole() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("config.toml");
    let mut text = String::from("facility_code = \"1312345678\"\n");
    text.push_str(&"# padding\n".repeat(200_000));
    std::fs::write(&path, text).expect("write");
    let e = Config::load(Some(&path)).expect_err("2 MB of configuration");
    assert!(e.to_string().contains("limit"), "{e}");
}

#[test]
fn mock_service_and_persona_files_at_devices_or_fifos_are_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    let fifo = dir.path().join("x.fifo");
    mkfifo(&fifo);
    for target in [
        PathBuf::from("/dev/zero"),
        PathBuf::from("/dev/urandom"),
        fifo,
    ] {
        let what = target.display().to_string();
        let t = target.clone();
        let (key, certs, persona, fixtures) = within_bound(&what, move || {
            (
                onshi_mock::endpoint::load_private_key(&t).map(|_| ()),
                onshi_mock::endpoint::load_certificates(&t).map(|_| ()),
                onshi_mock::Persona::load(&t).map(|_| ()),
                onshi_mock::endpoint::Fixtures::load(&t).map(|_| ()),
            )
        });
        for (kind, e) in [
            ("key", key.err().map(|e| e.to_string())),
            ("certificates", certs.err().map(|e| e.to_string())),
            ("persona", persona.err().map(|e| e.to_string())),
            ("fixtures", fixtures.err().map(|e| e.to_string())),
        ] {
            let e = e.unwrap_or_else(|| panic!("{what}: {kind} accepted"));
            assert!(e.contains("not a regular file"), "{what}: {kind}: {e}");
        }
    }
}

#[test]
fn a_kept_printout_is_owner_only_and_so_are_the_folders_made_for_it() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("printouts/2026-11/form.pdf");
    onshi_desk::print::keep_pdf(&path, b"%PDF-1.7 patient").expect("kept");
    assert_eq!(mode(&path), 0o600, "the printout");
    assert_eq!(mode(&dir.path().join("printouts/2026-11")), 0o700);
    assert_eq!(mode(&dir.path().join("printouts")), 0o700);
    // A reprint replaces it and it stays owner-only.
    onshi_desk::print::keep_pdf(&path, b"%PDF-1.7 again").expect("kept again");
    assert_eq!(mode(&path), 0o600);
    assert_eq!(std::fs::read(&path).expect("read"), b"%PDF-1.7 again");
}

#[test]
fn a_planted_link_at_the_printouts_temporary_name_is_not_followed() {
    let dir = tempfile::tempdir().expect("tmp");
    let victim = dir.path().join("victim.txt");
    std::fs::write(&victim, b"do not touch").expect("victim");
    let out = dir.path().join("printouts");
    std::fs::create_dir(&out).expect("folder");
    let path = out.join("form.pdf");
    // The old fixed name, and the names the current scheme would guess for this process.
    std::os::unix::fs::symlink(&victim, out.join("form.pdf.partial")).expect("link");
    for n in 0..8 {
        let guessed = out.join(format!(".form.pdf.{}-{n}.partial", std::process::id()));
        std::os::unix::fs::symlink(&victim, guessed).expect("link");
    }
    onshi_desk::print::keep_pdf(&path, b"%PDF-1.7 patient").expect("kept despite the links");
    assert_eq!(std::fs::read(&victim).expect("victim"), b"do not touch");
    assert_eq!(
        mode(&victim),
        0o644 & !umask_bits(),
        "victim's mode untouched"
    );
    let meta = std::fs::symlink_metadata(&path).expect("printout");
    assert!(
        meta.file_type().is_file(),
        "the printout is a file of its own"
    );
    assert_eq!(std::fs::read(&path).expect("read"), b"%PDF-1.7 patient");
}

/// The bits the process umask clears (read from a file we create plainly).
fn umask_bits() -> u32 {
    let dir = tempfile::tempdir().expect("tmp");
    let p = dir.path().join("probe");
    std::fs::write(&p, b"").expect("probe");
    0o666 & !mode(&p)
}

#[test]
fn the_settings_file_saved_by_the_desk_is_owner_only_and_ignores_planted_links() {
    let dir = tempfile::tempdir().expect("tmp");
    let victim = dir.path().join("victim.txt");
    std::fs::write(&victim, b"do not touch").expect("victim");
    let path = dir.path().join("onshi-desk/config.toml");
    std::fs::create_dir(dir.path().join("onshi-desk")).expect("folder");
    std::os::unix::fs::symlink(&victim, dir.path().join("onshi-desk/config.toml.saving"))
        .expect("link");
    onshi_desk::app::settings::save(&path, "facility_code = \"1312345678\"\n").expect("saved");
    assert_eq!(
        mode(&path),
        0o600,
        "settings hold the passcode hash and key paths"
    );
    assert_eq!(std::fs::read(&victim).expect("victim"), b"do not touch");
    // Into a folder that does not exist yet: made owner-only.
    let fresh = dir.path().join("new/onshi-desk/config.toml");
    onshi_desk::app::settings::save(&fresh, "x = 1\n").expect("saved");
    assert_eq!(mode(&fresh), 0o600);
    assert_eq!(mode(fresh.parent().expect("parent")), 0o700);
}

#[test]
fn the_settings_screen_names_a_tls_file_that_is_a_device() {
    let dir = tempfile::tempdir().expect("tmp");
    let config = config_with(dir.path(), "client_key", Path::new("/dev/zero"));
    let text = std::fs::read_to_string(&config).expect("config");
    let parsed = Config::parse(&text, &config).expect("parses");
    let form = onshi_desk::app::settings::SettingsForm::from_config(&parsed);
    let problem = form
        .validate(b"01234567")
        .expect_err("a device is no key file");
    assert!(problem.contains("クライアント秘密鍵"), "{problem}");
    assert!(problem.contains("/dev/zero"), "{problem}");
    assert!(
        problem.contains("通常のファイルではありません"),
        "{problem}"
    );
}

#[test]
fn the_test_pki_writes_its_private_keys_owner_only() {
    let dir = tempfile::tempdir().expect("tmp");
    let tls = onshi_mock::pki::tls::generate(dir.path(), date!(2026 - 11 - 21)).expect("TLS");
    for key in [
        &tls.server_ca_private_key,
        &tls.server_private_key,
        &tls.client_ca_private_key,
        &tls.facility_private_key,
    ] {
        assert_eq!(mode(key), 0o600, "{}", key.display());
    }
    let jpki = onshi_mock::pki::generate_jpki(dir.path(), date!(2026 - 11 - 21)).expect("JPKI");
    assert_eq!(mode(&jpki.auth_ca_private_key), 0o600);
    assert_eq!(mode(&jpki.sign_ca_private_key), 0o600);
    // Personas hold the card's private keys.
    let personas = std::fs::read_dir(dir.path().join("personas")).expect("personas");
    let mut seen = 0;
    for entry in personas {
        let p = entry.expect("entry").path();
        assert_eq!(mode(&p), 0o600, "{}", p.display());
        seen += 1;
    }
    assert!(seen > 0);
}

#[test]
fn claim_inputs_and_portal_pdfs_that_are_devices_or_fifos_are_refused_by_the_cli() {
    let dir = tempfile::tempdir().expect("tmp");
    let fifo = dir.path().join("input.fifo");
    mkfifo(&fifo);
    for target in [
        PathBuf::from("/dev/zero"),
        PathBuf::from("/dev/urandom"),
        fifo,
    ] {
        for args in [
            vec!["claim".to_owned(), "plan".into(), "--json".into()],
            vec!["claim".to_owned(), "import-pdf".into()],
        ] {
            let what = format!("{} {}", args.join(" "), target.display());
            let (a, t) = (args.clone(), target.clone());
            let out = within_bound(&what, move || {
                std::process::Command::new(env!("CARGO_BIN_EXE_onshi-desk"))
                    .args(&a)
                    .arg(&t)
                    .stdin(std::process::Stdio::null())
                    .output()
                    .expect("run onshi-desk")
            });
            let all = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(out.status.code(), Some(2), "{what}: {all}");
            assert!(
                all.contains("通常のファイルではありません"),
                "{what}: {all}"
            );
            assert!(all.contains("not a regular file"), "{what}: {all}");
        }
    }
}

#[test]
fn a_journal_export_written_to_a_file_is_owner_only_and_replaces_a_planted_link() {
    use onshi_desk::journal::{CheckKind, Journal, NewCheck};
    let dir = tempfile::tempdir().expect("tmp");
    let journal = dir.path().join("journal.sqlite3");
    {
        let j = Journal::open(&journal).expect("journal");
        let mut check = NewCheck::empty(CheckKind::Numbers, date!(2026 - 10 - 06));
        check.name = Some("山田 花子".into());
        j.record(check).expect("record");
    }
    let victim = dir.path().join("victim.txt");
    std::fs::write(&victim, b"do not touch").expect("victim");
    let out = dir.path().join("export.csv");
    std::os::unix::fs::symlink(&victim, &out).expect("planted link at the output");
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_onshi-desk"))
        .args(["journal", "--journal"])
        .arg(&journal)
        .args(["export", "--csv", "--out"])
        .arg(&out)
        .env("ONSHI_CONFIG", "/nonexistent/onshi-config.toml")
        .output()
        .expect("run onshi-desk");
    assert!(run.status.success(), "{run:?}");
    assert_eq!(std::fs::read(&victim).expect("victim"), b"do not touch");
    assert!(std::fs::symlink_metadata(&out)
        .expect("export")
        .file_type()
        .is_file());
    assert_eq!(mode(&out), 0o600, "the export lists patients");
    assert!(std::fs::read_to_string(&out)
        .expect("csv")
        .contains("山田 花子"));
}
