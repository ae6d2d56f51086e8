//! The request-folder watcher on real folders: a request → a result, exactly once with two
//! watchers (threads and processes), never half a file, hidden and temporary files left alone,
//! rejects and panics moved aside, a vanished folder waited for, an unwritable `res` retried
//! without asking the handler again, and a prompt shutdown.
//!
//! The handler here is the test's own ([`EchoHandler`]): the watcher knows folders, not XML.
//! Every wait is bounded by [`DEADLINE`] and no assertion is about time.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use onshi_desk::interop::watch::{
    self, StatusBoard, WatchHandle, WatchOptions, WatchState, WatchStatus,
};
use onshi_desk::interop::{Answer, Rejection, RequestHandler};

/// How long any wait may take before the test fails (never hangs).
const DEADLINE: Duration = Duration::from_secs(60);

const PREFIX: &str = "OQSsiquc01req_";

/// Answers `OQSsiquc01req_<id>.xml` with `OQSsiquc01res_<id>.xml` holding the request bytes.
/// Rejects ids containing `reject`, panics on ids containing `panic`, and counts its calls.
#[derive(Default)]
struct EchoHandler {
    calls: Mutex<HashMap<String, u32>>,
    /// When set, every call also creates `<dir>/<name>.<desk>.<n>` (a record that survives
    /// across processes).
    record_in: Option<(PathBuf, String)>,
}

impl EchoHandler {
    fn calls(&self, name: &str) -> u32 {
        self.calls
            .lock()
            .expect("calls")
            .get(name)
            .copied()
            .unwrap_or(0)
    }

    fn total_calls(&self) -> u32 {
        self.calls.lock().expect("calls").values().sum()
    }
}

impl RequestHandler for EchoHandler {
    fn accepts(&self, file_name: &str) -> bool {
        // Deliberately loose: hidden and `.partial` names must be left out by the watcher.
        file_name.contains(PREFIX)
    }

    fn handle(&self, file_name: &str, bytes: &[u8]) -> Result<Answer, Rejection> {
        let n = {
            let mut calls = self.calls.lock().expect("calls");
            let n = calls.entry(file_name.to_owned()).or_default();
            *n += 1;
            *n
        };
        if let Some((dir, desk)) = &self.record_in {
            std::fs::write(dir.join(format!("{file_name}.{desk}.{n}")), b"").expect("record");
        }
        if file_name.contains("panic") {
            panic!("test handler told to panic on {file_name}");
        }
        if file_name.contains("reject") {
            return Err(Rejection {
                reason: "the test handler rejects this file".to_owned(),
            });
        }
        Ok(Answer {
            file_name: file_name.replace("req_", "res_"),
            bytes: bytes.to_vec(),
        })
    }
}

fn fast_options(desk: &str) -> WatchOptions {
    WatchOptions {
        poll: Duration::from_millis(50),
        settle: Duration::from_millis(50),
        desk_id: desk.to_owned(),
        retry_initial: Duration::from_millis(20),
        retry_max: Duration::from_millis(100),
        ..WatchOptions::default()
    }
}

fn start(root: &Path, handler: &Arc<EchoHandler>, options: WatchOptions) -> WatchHandle {
    let handler: Arc<dyn RequestHandler> = handler.clone();
    watch::spawn(root, handler, options).expect("spawn watcher")
}

/// Waits until `check` holds, failing the test after [`DEADLINE`].
fn wait_until(what: &str, mut check: impl FnMut() -> bool) {
    let started = Instant::now();
    while !check() {
        assert!(started.elapsed() < DEADLINE, "gave up waiting: {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The status once `check` holds: a result file appears a moment before its count does.
fn counted(watcher: &WatchHandle, check: impl Fn(&WatchStatus) -> bool) -> WatchStatus {
    let board = watcher.status_board();
    wait_status(&board, "counts", check);
    board.snapshot()
}

fn wait_status(board: &StatusBoard, what: &str, check: impl Fn(&WatchStatus) -> bool) {
    wait_until(what, || check(&board.snapshot()));
}

/// Writes a request the careful way (temporary name, then rename), as `write_atomic` does.
fn put_request(root: &Path, id: &str, body: &[u8]) -> String {
    let name = format!("{PREFIX}{id}.xml");
    onshi_files::write_atomic(
        &root.join("req").join(&name),
        body,
        onshi_files::Access::Shared,
    )
    .expect("write request");
    name
}

fn result_path(root: &Path, id: &str) -> PathBuf {
    root.join("res").join(format!("OQSsiquc01res_{id}.xml"))
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn folder() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("oqs");
    std::fs::create_dir(&root).expect("root");
    (dir, root)
}

#[test]
fn a_request_gets_its_result_and_leaves_nothing_behind() {
    let (_dir, root) = folder();
    let handler = Arc::new(EchoHandler::default());
    let watcher = start(&root, &handler, fast_options("desk-a"));
    for sub in ["req", "res", "rejected"] {
        wait_until("folders created", || root.join(sub).is_dir());
    }
    let name = put_request(&root, "0001", "<XmlMsg>要求</XmlMsg>".as_bytes());
    let result = result_path(&root, "0001");
    wait_until("result written", || result.exists());
    assert_eq!(
        std::fs::read(&result).expect("result"),
        "<XmlMsg>要求</XmlMsg>".as_bytes()
    );
    let status = counted(&watcher, |s| s.answered == 1);
    assert_eq!(status.state, WatchState::Watching);
    assert_eq!(status.handled, 1);
    watcher.stop().expect("stop");
    assert_eq!(handler.calls(&name), 1);
    assert_eq!(names_in(&root.join("req")), [".claimed"]);
    assert!(names_in(&root.join("req/.claimed/desk-a")).is_empty());
    assert_eq!(names_in(&root.join("res")), ["OQSsiquc01res_0001.xml"]);
}

#[test]
fn two_watchers_answer_each_of_1000_requests_exactly_once() {
    let (_dir, root) = folder();
    std::fs::create_dir(root.join("req")).expect("req");
    let handler = Arc::new(EchoHandler::default());
    let a = start(&root, &handler, fast_options("desk-a"));
    let b = start(&root, &handler, fast_options("desk-b"));
    let ids: Vec<String> = (0..1000).map(|i| format!("{i:04}")).collect();
    for id in &ids {
        put_request(&root, id, id.as_bytes());
    }
    wait_until("1000 results", || {
        names_in(&root.join("res")).len() >= ids.len()
    });
    let (board_a, board_b) = (a.status_board(), b.status_board());
    a.stop().expect("stop a");
    b.stop().expect("stop b");
    // Read after the stop: a result file appears a moment before its count does.
    let (sa, sb) = (board_a.snapshot(), board_b.snapshot());
    for id in &ids {
        assert_eq!(handler.calls(&format!("{PREFIX}{id}.xml")), 1, "{id}");
        assert_eq!(
            std::fs::read(result_path(&root, id)).expect("result"),
            id.as_bytes()
        );
    }
    assert_eq!(handler.total_calls(), 1000);
    assert_eq!(names_in(&root.join("res")).len(), 1000);
    assert_eq!(sa.answered + sb.answered, 1000);
    eprintln!(
        "desk-a answered {}, desk-b answered {}",
        sa.answered, sb.answered
    );
}

/// The child side of [`two_processes_answer_each_request_exactly_once`]: a watcher process
/// that runs until a stop file appears. Does nothing unless started by that test.
#[test]
fn child_watcher_process() {
    let (Ok(root), Ok(desk)) = (
        std::env::var("ONSHI_WATCH_CHILD_ROOT"),
        std::env::var("ONSHI_WATCH_CHILD_DESK"),
    ) else {
        return;
    };
    let root = PathBuf::from(root);
    let handler = Arc::new(EchoHandler {
        record_in: Some((root.join("calls"), desk.clone())),
        ..EchoHandler::default()
    });
    let watcher = start(&root, &handler, fast_options(&desk));
    wait_until("stop file", || root.join("stop").exists());
    watcher.stop().expect("stop");
}

#[test]
fn two_processes_answer_each_request_exactly_once() {
    let (_dir, root) = folder();
    std::fs::create_dir(root.join("req")).expect("req");
    std::fs::create_dir(root.join("calls")).expect("calls");
    let exe = std::env::current_exe().expect("test binary");
    let children: Vec<std::process::Child> = ["proc-a", "proc-b"]
        .iter()
        .map(|desk| {
            std::process::Command::new(&exe)
                .args(["--exact", "child_watcher_process", "--nocapture"])
                .env("ONSHI_WATCH_CHILD_ROOT", &root)
                .env("ONSHI_WATCH_CHILD_DESK", desk)
                .spawn()
                .expect("start child watcher")
        })
        .collect();
    let ids: Vec<String> = (0..300).map(|i| format!("p{i:03}")).collect();
    for id in &ids {
        put_request(&root, id, id.as_bytes());
    }
    wait_until("300 results", || {
        names_in(&root.join("res")).len() >= ids.len()
    });
    std::fs::write(root.join("stop"), b"").expect("stop file");
    for mut child in children {
        wait_until("child exits", || child.try_wait().expect("wait").is_some());
        assert!(child.wait().expect("status").success());
    }
    let calls = names_in(&root.join("calls"));
    assert_eq!(calls.len(), ids.len(), "one handler call per request");
    for id in &ids {
        let prefix = format!("{PREFIX}{id}.xml.");
        assert_eq!(calls.iter().filter(|c| c.starts_with(&prefix)).count(), 1);
        assert!(result_path(&root, id).exists());
    }
}

#[test]
fn a_file_written_slowly_straight_into_req_is_taken_whole() {
    let (_dir, root) = folder();
    std::fs::create_dir(root.join("req")).expect("req");
    let handler = Arc::new(EchoHandler::default());
    // Pieces come every 100 ms, longer than the 50 ms poll, so a watcher that took a file
    // once two looks agree would split it; the file must sit unchanged for two seconds before
    // it is taken, so only a machine stalled that long between two writes could split it.
    let options = WatchOptions {
        settle: Duration::from_secs(2),
        ..fast_options("desk-a")
    };
    let watcher = start(&root, &handler, options);
    let name = format!("{PREFIX}slow.xml");
    let mut whole = Vec::new();
    {
        let mut file = std::fs::File::create(root.join("req").join(&name)).expect("create");
        for i in 0..30 {
            let piece = format!("<piece n=\"{i}\"/>\n");
            file.write_all(piece.as_bytes()).expect("write piece");
            file.flush().expect("flush");
            whole.extend_from_slice(piece.as_bytes());
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    let result = result_path(&root, "slow");
    wait_until("result written", || result.exists());
    watcher.stop().expect("stop");
    assert_eq!(std::fs::read(&result).expect("result"), whole);
    assert_eq!(handler.calls(&name), 1);
}

#[test]
fn hidden_and_temporary_files_are_left_alone() {
    let (_dir, root) = folder();
    let req = root.join("req");
    std::fs::create_dir(&req).expect("req");
    let ignored = [
        format!(".{PREFIX}hidden.xml"),
        format!(".{PREFIX}temp.xml.4242-0.partial"),
        format!("{PREFIX}temp.xml.partial"),
    ];
    for name in &ignored {
        std::fs::write(req.join(name), b"<XmlMsg/>").expect("write");
    }
    let handler = Arc::new(EchoHandler::default());
    let watcher = start(&root, &handler, fast_options("desk-a"));
    put_request(&root, "after", b"<XmlMsg/>");
    wait_until("result written", || result_path(&root, "after").exists());
    watcher.stop().expect("stop");
    for name in &ignored {
        assert!(req.join(name).exists(), "{name} must stay");
        assert_eq!(handler.calls(name), 0, "{name}");
    }
    assert_eq!(handler.total_calls(), 1);
}

#[test]
fn a_rejected_request_goes_aside_with_its_reason() {
    let (_dir, root) = folder();
    let handler = Arc::new(EchoHandler::default());
    let watcher = start(&root, &handler, fast_options("desk-a"));
    wait_until("req created", || root.join("req").is_dir());
    let name = put_request(&root, "reject-1", b"not a request");
    let rejected = root.join("rejected").join(&name);
    let note = root.join("rejected").join(format!("{name}.reason.txt"));
    wait_until("rejected with a note", || note.exists());
    let status = counted(&watcher, |s| s.rejected == 1);
    watcher.stop().expect("stop");
    assert_eq!(
        std::fs::read(&rejected).expect("rejected"),
        b"not a request"
    );
    let note = std::fs::read_to_string(&note).expect("note");
    assert!(
        note.contains("reason: the test handler rejects this file"),
        "{note}"
    );
    assert!(
        note.contains("依頼ファイルは処理できませんでした"),
        "{note}"
    );
    assert_eq!(status.rejected, 1);
    assert!(names_in(&root.join("res")).is_empty());
}

#[test]
fn a_request_over_the_size_cap_is_rejected_unread() {
    let (_dir, root) = folder();
    let handler = Arc::new(EchoHandler::default());
    let options = WatchOptions {
        max_bytes: 16,
        ..fast_options("desk-a")
    };
    let watcher = start(&root, &handler, options);
    wait_until("req created", || root.join("req").is_dir());
    let name = put_request(&root, "big", &[b'x'; 17]);
    let note = root.join("rejected").join(format!("{name}.reason.txt"));
    wait_until("rejected with a note", || note.exists());
    watcher.stop().expect("stop");
    let note = std::fs::read_to_string(&note).expect("note");
    assert!(note.contains("larger than the 16-byte limit"), "{note}");
    assert_eq!(handler.total_calls(), 0);
}

#[test]
fn a_panicking_handler_rejects_the_request_and_the_watcher_goes_on() {
    let (_dir, root) = folder();
    let handler = Arc::new(EchoHandler::default());
    let watcher = start(&root, &handler, fast_options("desk-a"));
    wait_until("req created", || root.join("req").is_dir());
    let name = put_request(&root, "panic-1", b"<XmlMsg/>");
    let note = root.join("rejected").join(format!("{name}.reason.txt"));
    wait_until("rejected with a note", || note.exists());
    let note = std::fs::read_to_string(&note).expect("note");
    assert!(note.contains("panicked"), "{note}");
    put_request(&root, "next", b"<XmlMsg/>");
    wait_until("next answered", || result_path(&root, "next").exists());
    counted(&watcher, |s| (s.rejected, s.answered) == (1, 1));
    watcher.stop().expect("stop");
}

#[test]
fn a_vanished_folder_is_waited_for_and_watched_again() {
    let (_dir, root) = folder();
    let handler = Arc::new(EchoHandler::default());
    let options = fast_options("desk-a");
    let board = options.status.clone();
    let watcher = start(&root, &handler, options);
    wait_until("req created", || root.join("req").is_dir());
    put_request(&root, "before", b"1");
    wait_until("first answered", || result_path(&root, "before").exists());

    std::fs::remove_dir_all(&root).expect("unmount");
    wait_status(&board, "folder missing", |s| {
        matches!(s.state, WatchState::FolderMissing { .. })
    });
    // The share comes back (the server's folders, as they were).
    std::fs::create_dir_all(root.join("req")).expect("remount req");
    std::fs::create_dir_all(root.join("res")).expect("remount res");
    put_request(&root, "after", b"2");
    wait_until("answered after the folder came back", || {
        result_path(&root, "after").exists()
    });
    let status = counted(&watcher, |s| s.answered == 2);
    watcher.stop().expect("stop");
    assert_eq!(status.state, WatchState::Watching);
}

#[test]
fn a_folder_missing_at_start_is_waited_for() {
    let (_dir, root) = folder();
    std::fs::remove_dir(&root).expect("not mounted yet");
    let handler = Arc::new(EchoHandler::default());
    let options = fast_options("desk-a");
    let board = options.status.clone();
    let watcher = start(&root, &handler, options);
    wait_status(&board, "folder missing", |s| {
        matches!(s.state, WatchState::FolderMissing { .. })
    });
    std::fs::create_dir_all(root.join("req")).expect("mount");
    put_request(&root, "late", b"3");
    wait_until("answered", || result_path(&root, "late").exists());
    watcher.stop().expect("stop");
}

#[test]
fn an_unwritable_result_folder_is_retried_without_asking_the_handler_again() {
    let (_dir, root) = folder();
    for sub in ["req", "rejected"] {
        std::fs::create_dir(root.join(sub)).expect("folder");
    }
    // `res` is a regular file: every write into it fails, for root too (like a full disk).
    std::fs::write(root.join("res"), b"in the way").expect("block res");
    let handler = Arc::new(EchoHandler::default());
    let options = fast_options("desk-a");
    let board = options.status.clone();
    let watcher = start(&root, &handler, options);
    let name = put_request(&root, "full", b"<XmlMsg/>");
    wait_status(&board, "several failed writes", |s| {
        s.write_failures >= 3 && s.pending == 1
    });
    let failing = board.snapshot();
    assert!(failing.last_error.is_some());
    assert!(failing.summary_ja().contains("再試行中"), "{failing:?}");
    // The claim stays until the answer is written.
    assert!(root.join("req/.claimed/desk-a").join(&name).exists());

    std::fs::remove_file(root.join("res")).expect("unblock");
    std::fs::create_dir(root.join("res")).expect("res");
    wait_until("answer written after the fix", || {
        result_path(&root, "full").exists()
    });
    counted(&watcher, |s| (s.answered, s.pending) == (1, 0));
    watcher.stop().expect("stop");
    assert_eq!(handler.calls(&name), 1);
    assert!(!root.join("req/.claimed/desk-a").join(&name).exists());
}

#[test]
fn a_restart_answers_its_own_unanswered_claims() {
    let (_dir, root) = folder();
    let own = root.join("req/.claimed/desk-a");
    std::fs::create_dir_all(&own).expect("claims");
    std::fs::write(own.join(format!("{PREFIX}left.xml")), b"left").expect("leftover");
    let handler = Arc::new(EchoHandler::default());
    let watcher = start(&root, &handler, fast_options("desk-a"));
    wait_until("leftover answered", || result_path(&root, "left").exists());
    watcher.stop().expect("stop");
    assert_eq!(handler.total_calls(), 1);
}

#[test]
fn a_stale_claim_of_a_dead_desk_is_taken_back_and_a_fresh_one_is_not() {
    let (_dir, root) = folder();
    let dead = root.join("req/.claimed/desk-dead");
    let alive = root.join("req/.claimed/desk-alive");
    std::fs::create_dir_all(&dead).expect("claims");
    std::fs::create_dir_all(&alive).expect("claims");
    let stale = dead.join(format!("{PREFIX}stale.xml"));
    std::fs::write(&stale, b"stale").expect("stale claim");
    let hour_ago = SystemTime::now() - Duration::from_secs(3600);
    std::fs::File::options()
        .write(true)
        .open(&stale)
        .and_then(|f| f.set_modified(hour_ago))
        .expect("age the claim");
    let fresh = alive.join(format!("{PREFIX}fresh.xml"));
    std::fs::write(&fresh, b"fresh").expect("fresh claim");

    let handler = Arc::new(EchoHandler::default());
    let options = WatchOptions {
        stale_claim: Duration::from_secs(600),
        ..fast_options("desk-a")
    };
    let watcher = start(&root, &handler, options);
    wait_until("stale claim answered", || {
        result_path(&root, "stale").exists()
    });
    watcher.stop().expect("stop");
    // Both claims were looked at in the same pass; only the stale one was taken.
    assert!(fresh.exists());
    assert_eq!(handler.total_calls(), 1);
}

#[test]
fn stop_and_drop_return_promptly_even_with_a_long_poll() {
    let (_dir, root) = folder();
    let handler = Arc::new(EchoHandler::default());
    for stop_by_drop in [false, true] {
        let options = WatchOptions {
            poll: Duration::from_secs(3600),
            ..fast_options("desk-a")
        };
        let board = options.status.clone();
        let watcher = start(&root, &handler, options);
        wait_status(&board, "watching", |s| s.state == WatchState::Watching);
        let (done, stopped) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            if stop_by_drop {
                drop(watcher);
            } else {
                watcher.stop().expect("stop");
            }
            let _ = done.send(());
        });
        // Only a bound: without the wake-up the watcher would sleep for an hour.
        stopped.recv_timeout(DEADLINE).expect("stopped");
        assert_eq!(board.snapshot().state, WatchState::Stopped);
    }
}

#[test]
fn serve_runs_on_the_callers_thread_until_shutdown() {
    let (_dir, root) = folder();
    let handler: Arc<dyn RequestHandler> = Arc::new(EchoHandler::default());
    let shutdown = watch::Shutdown::new();
    let stop = shutdown.clone();
    let options = fast_options("desk-a");
    let board = options.status.clone();
    let server = std::thread::spawn(move || watch::serve(&root, handler, &options, &stop));
    wait_status(&board, "watching", |s| s.state == WatchState::Watching);
    shutdown.trigger();
    server.join().expect("join").expect("serve");
}

#[test]
fn events_wake_the_watcher_between_polls() {
    let (_dir, root) = folder();
    let handler = Arc::new(EchoHandler::default());
    // A poll of an hour: only a file-system event (then the settle deadline) can wake it.
    let options = WatchOptions {
        poll: Duration::from_secs(3600),
        ..fast_options("desk-a")
    };
    let board = options.status.clone();
    let watcher = start(&root, &handler, options);
    wait_status(&board, "watching", |s| s.state == WatchState::Watching);
    assert!(board.snapshot().events, "inotify is available on Linux");
    put_request(&root, "event", b"<XmlMsg/>");
    wait_until("answered on an event", || {
        result_path(&root, "event").exists()
    });
    watcher.stop().expect("stop");
}

#[test]
fn polling_alone_finds_requests_as_on_a_share_without_events() {
    let (_dir, root) = folder();
    let handler = Arc::new(EchoHandler::default());
    let options = WatchOptions {
        events: false,
        ..fast_options("desk-a")
    };
    let board = options.status.clone();
    let watcher = start(&root, &handler, options);
    wait_status(&board, "watching", |s| s.state == WatchState::Watching);
    assert!(!board.snapshot().events);
    put_request(&root, "polled", b"<XmlMsg/>");
    wait_until("answered by polling", || {
        result_path(&root, "polled").exists()
    });
    watcher.stop().expect("stop");
}

/// Log lines written by a `tracing` subscriber, kept for the test to read.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<u8>>>);

impl Write for Log {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Log {
    fn count(&self, needle: &str) -> usize {
        String::from_utf8_lossy(&self.0.lock().expect("log"))
            .matches(needle)
            .count()
    }
}

#[test]
fn a_vanished_folder_is_logged_once_however_long_it_is_gone() {
    let (_dir, root) = folder();
    let log = Log::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .with_writer(move || writer.clone())
        .finish();
    let handler: Arc<dyn RequestHandler> = Arc::new(EchoHandler::default());
    let options = fast_options("desk-a");
    let board = options.status.clone();
    let shutdown = watch::Shutdown::new();
    let stop = shutdown.clone();
    let served = root.clone();
    let server = std::thread::spawn(move || {
        tracing::subscriber::with_default(subscriber, || {
            watch::serve(&served, handler, &options, &stop)
        })
    });
    wait_status(&board, "watching", |s| s.state == WatchState::Watching);
    std::fs::remove_dir_all(&root).expect("unmount");
    wait_status(&board, "folder missing", |s| {
        matches!(s.state, WatchState::FolderMissing { .. })
    });
    let passes = board.snapshot().passes;
    wait_status(&board, "ten more polls", |s| s.passes >= passes + 10);
    std::fs::create_dir_all(root.join("req")).expect("remount");
    put_request(&root, "back", b"<XmlMsg/>");
    wait_until("answered", || result_path(&root, "back").exists());
    shutdown.trigger();
    server.join().expect("join").expect("serve");
    assert_eq!(log.count("request folder is missing"), 1);
    assert_eq!(log.count("request folder is back"), 1);
}
