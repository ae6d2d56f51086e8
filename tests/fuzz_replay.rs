//! Replays every kept fuzz input through the fuzz targets' own functions
//! (`onshi_desk::fuzzing`), on the stable toolchain without instrumentation, so a bug the fuzzer
//! found stays fixed: the seed corpus `fuzz/corpus/<target>/` and the crash regressions
//! `fuzz/regressions/<target>/` (see docs/fuzzing.md).
//!
//! Each file runs in a child process (this test binary again, filtered to [`replay_one`]): a
//! stack overflow or an abort kills only that child, and the failure names the file, instead
//! of taking down the whole test run with no clue which input did it.
//!
//! Inputs in `fuzz/pending/<target>/` are known crashes whose fix is not merged yet: they are
//! not replayed, only counted, and move to `fuzz/regressions/<target>/` once fixed. (Not a
//! subdirectory of the regressions: libFuzzer reads corpus directories recursively.)

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The child's environment: which target, which file.
const TARGET_VAR: &str = "ONSHI_FUZZ_REPLAY_TARGET";
const FILE_VAR: &str = "ONSHI_FUZZ_REPLAY_FILE";

/// Heap of one replayed input: the fuzz targets' cap on a single allocation (1 GiB, see
/// `fuzz/src/lib.rs`).
#[cfg(unix)]
const MEMORY_LIMIT: libc::rlim_t = 1 << 30;

/// A generous "did not hang" bound per input in an unoptimised build.
const PER_INPUT: Duration = Duration::from_secs(60);

fn run_target(target: &str, data: &[u8]) {
    match target {
        "claim_json" => onshi_desk::fuzzing::claim_json(data),
        "service_answer" => onshi_desk::fuzzing::service_answer(data),
        "portal_pdf" => onshi_desk::fuzzing::portal_pdf(data),
        "receipt_request" => onshi_desk::fuzzing::receipt_request(data),
        other => panic!("unknown fuzz target {other}"),
    }
}

/// The child: replays the one file named in its environment; without it, does nothing.
#[test]
fn replay_one() {
    let (Ok(target), Ok(file)) = (std::env::var(TARGET_VAR), std::env::var(FILE_VAR)) else {
        return;
    };
    let data = std::fs::read(&file).expect("read the fuzz input");
    cap_memory();
    run_target(&target, &data);
}

/// Caps the child's heap at [`MEMORY_LIMIT`], as the fuzzer caps it, so a memory bomb fails
/// here too (an allocation refused aborts) instead of passing on a machine with enough RAM.
#[cfg(unix)]
fn cap_memory() {
    let limit = libc::rlimit {
        rlim_cur: MEMORY_LIMIT,
        rlim_max: MEMORY_LIMIT,
    };
    // SAFETY: setrlimit with a valid, initialised struct.
    let set = unsafe { libc::setrlimit(libc::RLIMIT_DATA, &limit) };
    assert_eq!(set, 0, "setrlimit(RLIMIT_DATA)");
}

#[cfg(not(unix))]
fn cap_memory() {}

/// The inputs kept for `target`: corpus and regressions, sorted, pending ones left out.
fn inputs(target: &str) -> Vec<PathBuf> {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut files = Vec::new();
    for dir in [
        fuzz.join("corpus").join(target),
        fuzz.join("regressions").join(target),
    ] {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.expect("list the fuzz inputs").path();
            let is_input = path.is_file()
                && path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| !n.starts_with('.') && n != "README.md");
            if is_input {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// Replays each input of `target` in its own child process and lists every one that failed.
fn replay(target: &str) {
    let files = inputs(target);
    assert!(!files.is_empty(), "no kept inputs for {target}");
    let pending = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/pending")
        .join(target);
    let pending = std::fs::read_dir(pending).map_or(0, |d| d.count());
    if pending > 0 {
        eprintln!("{target}: {pending} known crash input(s) pending their fix, not replayed");
    }
    let exe = std::env::current_exe().expect("path of this test binary");
    let mut failures = Vec::new();
    for file in &files {
        if let Some(failure) = replay_in_child(&exe, target, file) {
            failures.push(format!("{}: {failure}", file.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} {target} inputs failed:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n\n")
    );
}

/// Runs one input in a child; `None` when it returned cleanly within [`PER_INPUT`].
fn replay_in_child(exe: &Path, target: &str, file: &Path) -> Option<String> {
    let log = tempfile::tempfile().expect("temp file for the child's output");
    let mut child = Command::new(exe)
        .args(["--exact", "replay_one", "--nocapture", "--test-threads=1"])
        .env(TARGET_VAR, target)
        .env(FILE_VAR, file)
        .stdout(Stdio::null())
        .stderr(log.try_clone().expect("share the temp file"))
        .spawn()
        .expect("run the replay child");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the replay child") {
            break Some(status);
        }
        if started.elapsed() > PER_INPUT {
            child.kill().expect("stop the hung replay child");
            child.wait().expect("reap the replay child");
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    if status.is_some_and(|s| s.success()) {
        return None;
    }
    let mut stderr = String::new();
    let mut log = log;
    log.seek(SeekFrom::Start(0))
        .expect("rewind the child's output");
    log.read_to_string(&mut stderr).ok();
    let tail: Vec<&str> = stderr.lines().rev().take(20).collect();
    let tail: Vec<&str> = tail.into_iter().rev().collect();
    Some(match status {
        Some(status) => format!("{status}\n{}", tail.join("\n")),
        None => format!("did not finish within {PER_INPUT:?}\n{}", tail.join("\n")),
    })
}

#[test]
fn claim_json_inputs_replay_cleanly() {
    replay("claim_json");
}

#[test]
fn service_answer_inputs_replay_cleanly() {
    replay("service_answer");
}

#[test]
fn portal_pdf_inputs_replay_cleanly() {
    replay("portal_pdf");
}

#[test]
fn receipt_request_inputs_replay_cleanly() {
    replay("receipt_request");
}
