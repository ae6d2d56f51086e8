//! Hostile PDFs, made here object by object: a patient's file must never take the desk down.
//! Each is refused with its own error kind, in this process (the hardened parser) and through
//! the real `onshi-desk` binary (`claim import-pdf`, which reads in a limited child process),
//! within a generous bound and without the process dying by a signal. The reader process is
//! also driven with stand-in programs that hang, crash or babble, to see the parent hold.

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use onshi_desk::import::{extract_portal_fields, ImportError, PdfSandbox};

/// A PDF file of the given objects (object `n` is `objects[n - 1]`; object 1 is the catalog),
/// with a correct cross-reference table.
fn pdf(objects: &[Vec<u8>]) -> Vec<u8> {
    let mut out = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for offset in offsets {
        out.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

fn obj(text: &str) -> Vec<u8> {
    text.as_bytes().to_vec()
}

/// A stream object with its dictionary entries and data.
fn stream(dict: &str, data: &[u8]) -> Vec<u8> {
    let mut out = format!("<< {dict} /Length {} >>\nstream\n", data.len()).into_bytes();
    out.extend_from_slice(data);
    out.extend_from_slice(b"\nendstream");
    out
}

/// Catalog (1), pages (2), one page (3) with `resources`, its content (4), then `more` (5 …).
fn one_page(resources: &str, content: &[u8], more: Vec<Vec<u8>>) -> Vec<u8> {
    let mut objects = vec![
        obj("<< /Type /Catalog /Pages 2 0 R >>"),
        obj("<< /Type /Pages /Kids [3 0 R] /Count 1 >>"),
        obj(&format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources {resources} /Contents 4 0 R >>"
        )),
        stream("", content),
    ];
    objects.extend(more);
    pdf(&objects)
}

/// A form whose resources name itself: pdf-extract recursed until the stack overflowed.
fn recursive_form() -> Vec<u8> {
    one_page(
        "<< /XObject << /X 5 0 R >> >>",
        b"/X Do",
        vec![stream(
            "/Type /XObject /Subtype /Form /BBox [0 0 10 10] /Resources << /XObject << /X 5 0 R >> >>",
            b"/X Do",
        )],
    )
}

/// Two forms drawing each other, the second without resources of its own (it inherits the
/// first's): the cycle goes through inherited resources.
fn mutually_recursive_forms() -> Vec<u8> {
    one_page(
        "<< /XObject << /A 5 0 R >> >>",
        b"/A Do",
        vec![
            stream(
                "/Type /XObject /Subtype /Form /BBox [0 0 10 10] /Resources << /XObject << /A 5 0 R /B 6 0 R >> >>",
                b"/B Do",
            ),
            stream("/Type /XObject /Subtype /Form /BBox [0 0 10 10]", b"/A Do"),
        ],
    )
}

/// Five levels of forms, each drawing the next 40 times: 40^6 draws, minutes of work.
fn fan_out() -> Vec<u8> {
    let draws = |name: &str| format!("/{name} Do\n").repeat(40).into_bytes();
    let levels = 5;
    let mut forms = Vec::new();
    for level in 0..levels {
        let id = 5 + level;
        if level + 1 < levels {
            forms.push(stream(
                &format!(
                    "/Type /XObject /Subtype /Form /BBox [0 0 10 10] /Resources << /XObject << /N {} 0 R >> >>",
                    id + 1
                ),
                &draws("N"),
            ));
        } else {
            forms.push(stream(
                "/Type /XObject /Subtype /Form /BBox [0 0 10 10]",
                b"0 0 1 1 re f",
            ));
        }
    }
    one_page("<< /XObject << /N 5 0 R >> >>", &draws("N"), forms)
}

/// A page of text in a CID font with the given ToUnicode map.
fn cid_font_page(cmap: &[u8]) -> Vec<u8> {
    one_page(
        "<< /Font << /F1 5 0 R >> >>",
        b"BT /F1 12 Tf 72 700 Td <0001> Tj ET",
        vec![
            obj("<< /Type /Font /Subtype /Type0 /BaseFont /Hostile /Encoding /Identity-H /DescendantFonts [6 0 R] /ToUnicode 7 0 R >>"),
            obj("<< /Type /Font /Subtype /CIDFontType2 /BaseFont /Hostile /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /FontDescriptor 8 0 R /DW 1000 >>"),
            stream("", cmap),
            obj("<< /Type /FontDescriptor /FontName /Hostile /Flags 4 /FontBBox [0 0 1000 1000] /ItalicAngle 0 /Ascent 800 /Descent -200 /CapHeight 700 /StemV 80 >>"),
        ],
    )
}

/// A ToUnicode map with one range of 2^32 codes: memory without bound.
fn huge_to_unicode_range() -> Vec<u8> {
    cid_font_page(
        b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n\
        1 begincodespacerange <0000> <FFFF> endcodespacerange\n\
        1 beginbfrange <00000000> <FFFFFFFF> <00000041> endbfrange\n\
        endcmap CMapName currentdict /CMap defineresource pop end end",
    )
}

/// A ToUnicode map with arrays nested 100 000 deep: its parser recursed until the stack
/// overflowed.
fn deeply_nested_to_unicode() -> Vec<u8> {
    let mut cmap = b"begincmap 1 beginbfchar <0001> ".to_vec();
    cmap.extend(std::iter::repeat_n(b'[', 100_000));
    cmap.extend(std::iter::repeat_n(b']', 100_000));
    cmap.extend_from_slice(b" endbfchar endcmap");
    cid_font_page(&cmap)
}

/// A zlib stream of `blocks` MiB of spaces, about 1 KB per MiB: the same fully flushed deflate
/// block repeated (each is independent of what came before), then a final empty block. The
/// checksum is left wrong; lopdf keeps what it inflated anyway.
fn flate_bomb(blocks: usize) -> Vec<u8> {
    use flate2::{Compress, Compression, FlushCompress};
    let mib = vec![b' '; 1 << 20];
    let mut z = Compress::new(Compression::best(), true);
    let mut chunk = |input: &[u8], flush| {
        let mut out = Vec::with_capacity(1 << 16);
        z.compress_vec(input, &mut out, flush).expect("compress");
        out
    };
    let mut head = chunk(&mib, FlushCompress::Full);
    let block = chunk(&mib, FlushCompress::Full);
    for _ in 0..blocks {
        head.extend_from_slice(&block);
    }
    head.extend_from_slice(&chunk(&[], FlushCompress::Finish));
    head
}

/// A page whose content inflates to 4 GiB from about 4 MB.
fn flate_bomb_page() -> Vec<u8> {
    let bomb = flate_bomb(4096);
    let mut objects = vec![
        obj("<< /Type /Catalog /Pages 2 0 R >>"),
        obj("<< /Type /Pages /Kids [3 0 R] /Count 1 >>"),
        obj("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << >> /Contents 4 0 R >>"),
    ];
    objects.push(stream("/Filter /FlateDecode", &bomb));
    pdf(&objects)
}

/// The same bomb as an object stream, which lopdf inflates while still loading the file.
fn flate_bomb_object_stream() -> Vec<u8> {
    let bomb = flate_bomb(4096);
    one_page(
        "<< >>",
        b"",
        vec![stream(
            "/Type /ObjStm /N 1 /First 4 /Filter /FlateDecode",
            &bomb,
        )],
    )
}

/// A page that is its own parent and lacks a MediaBox: pdf-extract climbed the loop looking
/// for an inherited one until the stack overflowed.
fn page_parent_loop() -> Vec<u8> {
    pdf(&[
        obj("<< /Type /Catalog /Pages 2 0 R >>"),
        obj("<< /Type /Pages /Kids [3 0 R] /Count 1 >>"),
        obj("<< /Type /Page /Parent 3 0 R /Contents 4 0 R >>"),
        stream("", b""),
    ])
}

fn hostile() -> Vec<(&'static str, Vec<u8>, &'static str)> {
    vec![
        ("recursive form", recursive_form(), "too_complex"),
        (
            "mutually recursive forms",
            mutually_recursive_forms(),
            "too_complex",
        ),
        ("fan-out of nested forms", fan_out(), "too_complex"),
        (
            "page that is its own parent",
            page_parent_loop(),
            "too_complex",
        ),
        (
            "ToUnicode range of 2^32 codes",
            huge_to_unicode_range(),
            "too_complex",
        ),
        (
            "ToUnicode arrays nested deep",
            deeply_nested_to_unicode(),
            "too_complex",
        ),
        (
            "flate bomb in the page content",
            flate_bomb_page(),
            "too_much_content",
        ),
        (
            "flate bomb in an object stream",
            flate_bomb_object_stream(),
            "too_much_content",
        ),
    ]
}

#[test]
fn the_in_process_parser_refuses_each_hostile_file_without_crashing() {
    for (what, bytes, kind) in hostile() {
        let started = Instant::now();
        let e = extract_portal_fields(&bytes).expect_err(what);
        assert_eq!(e.kind(), kind, "{what}: {e}");
        assert!(!e.desk_message().is_empty());
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{what}: did not answer within 20 s"
        );
    }
}

fn import_pdf(file: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_onshi-desk"))
        .args(["claim", "import-pdf"])
        .arg(file)
        .arg("--json")
        .output()
        .expect("run onshi-desk")
}

#[test]
fn the_cli_refuses_each_hostile_file_with_its_kind_and_does_not_die() {
    let dir = tempfile::tempdir().expect("tmp");
    for (what, bytes, kind) in hostile() {
        let file = dir.path().join("hostile.pdf");
        std::fs::write(&file, &bytes).expect("write");
        let started = Instant::now();
        let out = import_pdf(&file);
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{what}: did not answer within 20 s"
        );
        #[cfg(unix)]
        {
            use std::os::unix::process::ExitStatusExt;
            assert_eq!(out.status.signal(), None, "{what}: died by a signal");
        }
        assert_eq!(out.status.code(), Some(2), "{what}: {out:?}");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
        assert_eq!(v["error"]["kind"], kind, "{what}: {v}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("安全のため読み込みを中止しました"),
            "{what}: the desk sentence: {stderr}"
        );
    }
}

#[test]
fn the_cli_still_reads_a_good_file_through_the_reader_process() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/portal/inline.pdf");
    let out = import_pdf(&file);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(v["parsed"]["insurer_number"], "06010391");
    assert_eq!(
        v["parsed"]["birthdate"], "1985-06-15",
        "typed again by the parent"
    );
}

/// A stand-in reader: `sh -c SCRIPT`, limited to `limit`.
fn shell(script: &str, limit: Duration) -> PdfSandbox {
    PdfSandbox {
        program: "/bin/sh".into(),
        args: vec!["-c".into(), script.into()],
        time_limit: limit,
    }
}

fn good_pdf() -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/portal/inline.pdf"))
        .expect("fixture")
}

#[cfg(unix)]
#[test]
fn a_reader_that_hangs_is_stopped_at_the_time_limit() {
    let started = Instant::now();
    let e = shell("exec sleep 60", Duration::from_millis(500))
        .extract(&good_pdf())
        .expect_err("stopped");
    assert_eq!(e.kind(), "too_complex", "{e}");
    assert!(started.elapsed() < Duration::from_secs(20), "did not hang");
}

#[cfg(unix)]
#[test]
fn a_reader_whose_own_child_keeps_the_pipes_open_does_not_hold_the_parent() {
    // The shell is killed at the limit; the sleep it started keeps stdout and stderr open.
    let started = Instant::now();
    let e = shell("sleep 25; echo late", Duration::from_millis(500))
        .extract(&good_pdf())
        .expect_err("stopped");
    assert_eq!(e.kind(), "too_complex", "{e}");
    assert!(started.elapsed() < Duration::from_secs(20), "did not hang");
}

#[cfg(unix)]
#[test]
fn a_reader_that_crashes_or_babbles_is_a_typed_error_and_its_words_stay_in_the_log() {
    let limit = Duration::from_secs(10);
    let e = shell("cat >/dev/null; kill -SEGV $$", limit)
        .extract(&good_pdf())
        .expect_err("crashed");
    assert_eq!(e.kind(), "malformed", "{e}");

    let e = shell(
        "cat >/dev/null; echo 'thread main has overflowed its stack' >&2; kill -ABRT $$",
        limit,
    )
    .extract(&good_pdf())
    .expect_err("overflowed");
    assert_eq!(e.kind(), "too_complex", "{e}");

    let e = shell(
        "cat >/dev/null; echo 'memory allocation of 4294967296 bytes failed' >&2; kill -ABRT $$",
        limit,
    )
    .extract(&good_pdf())
    .expect_err("out of memory");
    assert_eq!(e.kind(), "too_much_content", "{e}");

    let e = shell("echo '\u{1b}[31mpanicked at everything'; exit 0", limit)
        .extract(&good_pdf())
        .expect_err("nonsense");
    assert_eq!(e.kind(), "unavailable", "{e}");
    assert!(!e.desk_message().contains("panicked"));

    // The detail the reader gives is escaped before it reaches any message.
    let e = shell(
        r#"printf '{"error":{"kind":"malformed","detail":"\u001b[2Jgone"}}'"#,
        limit,
    )
    .extract(&good_pdf())
    .expect_err("its own error");
    match e {
        ImportError::Malformed(detail) => assert!(!detail.contains('\u{1b}'), "{detail:?}"),
        other => panic!("{other:?}"),
    }

    let e = PdfSandbox::new("/nonexistent/onshi-desk")
        .extract(&good_pdf())
        .expect_err("missing");
    assert_eq!(e.kind(), "unavailable", "{e}");
}

#[cfg(unix)]
#[test]
fn the_reader_gets_no_environment() {
    // SAFETY of the test: a name no other test reads.
    std::env::set_var("ONSHI_PDF_SANDBOX_TEST_SECRET", "s3cret");
    let answer = r#"{"error":{"kind":"no_text","detail":"clean"}}"#;
    let script =
        format!("cat >/dev/null; test -z \"$ONSHI_PDF_SANDBOX_TEST_SECRET\" && printf '{answer}'");
    let e = shell(&script, Duration::from_secs(10))
        .extract(&good_pdf())
        .expect_err("answered");
    assert_eq!(e, ImportError::NoText, "the secret was inherited");
}

#[cfg(target_os = "linux")]
#[test]
fn the_real_reader_limits_its_memory() {
    // The worker's own limit, observed from outside: its address-space limit is in place.
    let mut child = Command::new(env!("CARGO_BIN_EXE_onshi-desk"))
        .arg("internal-pdf-worker")
        .env_clear()
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start the worker");
    let pid = child.id();
    let deadline = Instant::now() + Duration::from_secs(20);
    let limits = loop {
        let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap_or_default();
        if limits
            .lines()
            .any(|l| l.starts_with("Max address space") && !l.contains("unlimited"))
            || Instant::now() > deadline
        {
            break limits;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stdin = child.stdin.take().expect("stdin");
    let _ = stdin.write_all(b"not a pdf");
    drop(stdin);
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success(), "{out:?}");
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max address space"))
        .unwrap_or("");
    assert!(line.contains("536870912"), "{limits}");
    let core = limits
        .lines()
        .find(|l| l.starts_with("Max core file size"))
        .unwrap_or("");
    assert!(core.split_whitespace().nth(4) == Some("0"), "{limits}");
}

#[cfg(unix)]
#[test]
fn a_fifo_given_as_the_pdf_is_refused_not_waited_on() {
    let dir = tempfile::tempdir().expect("tmp");
    let fifo = dir.path().join("portal.pdf");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    let mut child = Command::new(env!("CARGO_BIN_EXE_onshi-desk"))
        .args(["claim", "import-pdf"])
        .arg(&fifo)
        .arg("--json")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("run onshi-desk");
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let status = status.expect("answered within 20 s instead of waiting for a writer");
    assert_eq!(status.code(), Some(2));
    let out = child.wait_with_output().expect("output");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(v["error"]["kind"], "input", "{v}");
}

#[test]
fn a_document_with_an_embedded_japanese_font_reads_within_the_readers_limits() {
    // Our own printout embeds IPAexGothic and a ToUnicode map, as a portal PDF would.
    use onshi_desk::domain::claim::declaration::{Facility, SelfDeclaration};
    use time::macros::date;
    let d = SelfDeclaration {
        facility: Facility {
            name: "さくら内科クリニック".into(),
            code: "1312345678".into(),
        },
        date: date!(2026 - 11 - 22),
        name: Some("山田 太郎".into()),
        name_kana: None,
        birthdate: Some(date!(1980 - 04 - 02)),
        sex: None,
        address: None,
        phone: None,
        insurance_kind: None,
        insurer_name: None,
        employer: None,
        symbol: Some("1234".into()),
        number: Some("5678".into()),
        relationship: None,
        ratio: None,
    };
    let pdf = onshi_desk::print::render_declaration(&d).expect("render");
    let f = PdfSandbox::new(env!("CARGO_BIN_EXE_onshi-desk"))
        .extract(&pdf)
        .expect("read in the reader process");
    assert_eq!(f.name.as_deref(), Some("山田 太郎"));
    assert_eq!(f.parsed.birthdate, Some(date!(1980 - 04 - 02)));
}
