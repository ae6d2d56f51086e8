//! The desk's one clock (時計): every piece of work reads the date from it when it starts.
//!
//! A desk PC is often left running for days (hospitals, 24-hour pharmacies). A date taken
//! once at start would check eligibility, send `QualificationConfirmationDate`, record the
//! journal and rate certificate expiry for a day already gone. So nothing keeps a date of its
//! own: the app and the command line hold a [`SharedClock`] and read it at the start of each
//! request; tests inject a [`FixedClock`] and move it across midnight.
//!
//! Japan has one time zone and no daylight saving time, so Japan time is UTC+9 fixed
//! ([`crate::domain::expiry::JST`]). The domain rules keep taking plain `Date` arguments.

use std::sync::{Arc, Mutex};

use time::{Date, OffsetDateTime, Time};

use crate::domain::expiry::{jst_date, JST};

/// Where the current time comes from.
pub trait Clock: Send + Sync {
    /// The current instant.
    fn now(&self) -> OffsetDateTime;

    /// Today in Japan (the visit date, 受付日): the date the checks are for.
    fn today_jst(&self) -> Date {
        jst_date(self.now())
    }
}

/// The clock the app and the command line share.
pub type SharedClock = Arc<dyn Clock>;

/// The system's real time.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

impl SystemClock {
    /// The system clock, shared.
    pub fn shared() -> SharedClock {
        Arc::new(SystemClock)
    }
}

/// A clock that stands still until moved (`--test-date`, tests, screenshots).
#[derive(Debug)]
pub struct FixedClock {
    at: Mutex<OffsetDateTime>,
}

impl FixedClock {
    /// Stopped at `at`.
    pub fn at(at: OffsetDateTime) -> FixedClock {
        FixedClock { at: Mutex::new(at) }
    }

    /// Stopped at noon, Japan time, on `date` (far from either midnight).
    pub fn on(date: Date) -> FixedClock {
        FixedClock::at(
            date.with_time(Time::MIDNIGHT).assume_offset(JST) + time::Duration::hours(12),
        )
    }

    /// Stopped at `at`, shared (keep a clone of the `Arc` to move it).
    pub fn shared_at(at: OffsetDateTime) -> Arc<FixedClock> {
        Arc::new(FixedClock::at(at))
    }

    /// Moves the clock to `at`.
    pub fn set(&self, at: OffsetDateTime) {
        // A poisoned lock still holds a valid instant: a clock never refuses to tell time.
        *self.at.lock().unwrap_or_else(|p| p.into_inner()) = at;
    }
}

impl Clock for FixedClock {
    fn now(&self) -> OffsetDateTime {
        *self.at.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn the_date_is_japan_time() {
        // 15:30 UTC is 00:30 the next day in Japan.
        let clock = FixedClock::at(datetime!(2026-11-22 15:30 UTC));
        assert_eq!(clock.today_jst(), date!(2026 - 11 - 23));
    }

    #[test]
    fn a_fixed_clock_moves_only_when_set() {
        let clock = FixedClock::on(date!(2026 - 11 - 22));
        assert_eq!(clock.today_jst(), date!(2026 - 11 - 22));
        clock.set(datetime!(2026-11-23 00:00:01 +9));
        assert_eq!(clock.today_jst(), date!(2026 - 11 - 23));
    }
}
