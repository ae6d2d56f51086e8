//! What every fuzz target shares: the run of one input, the panic policy and the cap on a
//! single allocation. The parsers themselves are called through `onshi_desk::fuzzing`, the
//! same functions `tests/fuzz_replay.rs` replays on the stable toolchain.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::RefCell;
use std::io::Write;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Largest single allocation allowed, in MiB. libFuzzer's `-malloc_limit_mb` needs a
/// sanitizer's malloc hooks, which a build without sanitizers (stable Rust) does not have; this
/// allocator gives the same finding: a parser asking for this much at once from an input of at
/// most a few MB is a memory bomb. Set to match `-malloc_limit_mb` in `scripts/fuzz`.
pub const MALLOC_LIMIT_MB: usize = 1024;

/// The system allocator, refusing any single allocation over [`MALLOC_LIMIT_MB`] by aborting
/// with a message, so libFuzzer records the input as a crash.
pub struct CappedAllocator;

impl CappedAllocator {
    fn check(size: usize) {
        if size > MALLOC_LIMIT_MB << 20 {
            // No formatting machinery that could allocate: a fixed message, then abort.
            let _ = std::io::stderr()
                .write_all(b"==onshi-fuzz== single allocation over MALLOC_LIMIT_MB: memory bomb\n");
            std::process::abort();
        }
    }
}

// SAFETY: forwards every call unchanged to `System`; the only addition is a size check that
// aborts before forwarding.
unsafe impl GlobalAlloc for CappedAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        Self::check(layout.size());
        System.alloc(layout)
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        Self::check(layout.size());
        System.alloc_zeroed(layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        Self::check(new_size);
        System.realloc(ptr, layout, new_size)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static ALLOCATOR: CappedAllocator = CappedAllocator;

thread_local! {
    /// The message of the last panic, printed if that panic escapes the parser.
    static LAST_PANIC: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Sets the panic policy, once at start-up: a panic the desk's own code catches (the portal
/// PDF importer contains panics of the PDF library and reports the file as malformed) is what
/// production does, so it is not a finding; a panic that escapes is. Its message is kept and
/// printed when it escapes ([`run`]). `ONSHI_FUZZ_STRICT_PANICS=1` keeps libFuzzer's default
/// instead: every panic, caught or not, is a crash.
pub fn init() {
    report_stack_overflows();
    if std::env::var_os("ONSHI_FUZZ_STRICT_PANICS").is_some_and(|v| v == "1") {
        return;
    }
    std::panic::set_hook(Box::new(|info| {
        let message = info.to_string();
        LAST_PANIC.with(|last| *last.borrow_mut() = message);
    }));
}

/// Runs one input through `target`; a panic that escapes it aborts with its message.
pub fn run(target: fn(&[u8]), data: &[u8]) {
    if catch_unwind(AssertUnwindSafe(|| target(data))).is_err() {
        LAST_PANIC.with(|last| eprintln!("==onshi-fuzz== panic escaped: {}", last.borrow()));
        std::process::abort();
    }
}

/// Makes a stack overflow (unbounded recursion in a parser) a recorded crash.
///
/// libFuzzer's own SIGSEGV handler runs on the overflowed stack and dies silently, so the
/// input would be lost; and without Rust's `main` the standard library's overflow handler is
/// not installed. This handler runs on its own stack, says what happened and aborts, and
/// libFuzzer's SIGABRT handler saves the input. Installed before libFuzzer's handlers, which
/// then keep `SA_ONSTACK` and defer to it.
fn report_stack_overflows() {
    const ALT_STACK: usize = 4 << 20;
    // SAFETY: plain POSIX calls with valid arguments; the mapping is never unmapped, as the
    // handler may use it until the process ends.
    unsafe {
        let stack = libc::mmap(
            std::ptr::null_mut(),
            ALT_STACK,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        if stack == libc::MAP_FAILED {
            return;
        }
        let alt = libc::stack_t {
            ss_sp: stack,
            ss_flags: 0,
            ss_size: ALT_STACK,
        };
        if libc::sigaltstack(&alt, std::ptr::null_mut()) != 0 {
            return;
        }
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_fatal_signal as *const () as usize;
        action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(libc::SIGSEGV, &action, std::ptr::null_mut());
        libc::sigaction(libc::SIGBUS, &action, std::ptr::null_mut());
    }
}

extern "C" fn on_fatal_signal(_: libc::c_int, _: *mut libc::siginfo_t, _: *mut libc::c_void) {
    const MESSAGE: &[u8] =
        b"==onshi-fuzz== SIGSEGV/SIGBUS: most likely a stack overflow (unbounded recursion)\n";
    // SAFETY: write(2) and abort(3) are async-signal-safe.
    unsafe {
        libc::write(2, MESSAGE.as_ptr().cast(), MESSAGE.len());
        libc::abort();
    }
}
