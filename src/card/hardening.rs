//! Keeping the PIN out of core dumps (コアダンプ).
//!
//! A crash while a PIN (利用者証明用暗証番号) is in memory would otherwise write it to disk in
//! a core file, readable by whoever collects crash reports. [`forbid_core_dumps`] is called
//! at the start of every command that takes a PIN and of the desk app, before any PIN is
//! read: on Linux the process is marked non-dumpable (`PR_SET_DUMPABLE` 0, which also keeps
//! other processes of the same user from attaching a debugger) and its core size limit is set
//! to 0. Elsewhere it does nothing (Windows writes no core files unless configured to).

/// Disables core dumps for this process. Best effort: a refusal is logged, never fatal (the
/// desk must still serve the patient), and calling it twice is harmless.
pub fn forbid_core_dumps() {
    #[cfg(target_os = "linux")]
    {
        let none = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: setrlimit reads the valid struct we pass; prctl with PR_SET_DUMPABLE takes
        // plain integers. Neither touches memory of ours otherwise.
        let limit = unsafe { libc::setrlimit(libc::RLIMIT_CORE, &none) };
        if limit != 0 {
            tracing::warn!(error = %std::io::Error::last_os_error(), "core size limit not set to 0");
        }
        // SAFETY: see above.
        let dumpable = unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) };
        if dumpable != 0 {
            tracing::warn!(error = %std::io::Error::last_os_error(), "process still dumpable");
        }
    }
    #[cfg(all(unix, not(target_os = "linux")))]
    {
        let none = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: setrlimit reads the valid struct we pass.
        if unsafe { libc::setrlimit(libc::RLIMIT_CORE, &none) } != 0 {
            tracing::warn!(error = %std::io::Error::last_os_error(), "core size limit not set to 0");
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    /// The "Max core file size" soft and hard limits as the kernel reports them.
    fn core_limits() -> String {
        let limits = std::fs::read_to_string("/proc/self/limits").expect("/proc/self/limits");
        limits
            .lines()
            .find_map(|l| l.strip_prefix("Max core file size"))
            .map(|rest| {
                rest.split_whitespace()
                    .take(2)
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default()
    }

    #[test]
    fn after_the_call_the_process_is_not_dumpable_and_its_core_limit_is_zero() {
        forbid_core_dumps();
        // SAFETY: PR_GET_DUMPABLE takes no pointers.
        assert_eq!(unsafe { libc::prctl(libc::PR_GET_DUMPABLE, 0, 0, 0, 0) }, 0);
        assert_eq!(core_limits(), "0 0");
        let mut limit = libc::rlimit {
            rlim_cur: 1,
            rlim_max: 1,
        };
        // SAFETY: getrlimit writes into the valid struct we pass.
        assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_CORE, &mut limit) }, 0);
        assert_eq!((limit.rlim_cur, limit.rlim_max), (0, 0));
        // Twice is harmless.
        forbid_core_dumps();
    }
}
