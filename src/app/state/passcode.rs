//! The staff passcodes (施設パスコード, 設定用パスコード) and the wait that grows after wrong
//! tries: the one place a typed passcode is judged, for visual check and for the settings.
//!
//! A 4-digit code has 10,000 values. The desk is in view of patients, and the code for visual
//! check is typed there, so a patient left alone at the desk could try codes one after another.
//! After a few wrong tries in a row each further try waits (「あと N 秒お待ちください」), counted
//! with the injected clock, so trying all codes takes days instead of an afternoon, while a
//! clerk who mistypes once or twice never waits. The waits are `[desk] passcode_delays_s`
//! (default [`crate::config::DEFAULT_PASSCODE_DELAYS_S`], our choice, unconfirmed). The count is the desk's, not the screen's:
//! leaving the keypad and coming back (or going from visual check to the settings) does not
//! reset it; only a right code does.

use time::{Duration, OffsetDateTime};

use crate::config::DEFAULT_PASSCODE_DELAYS_S;

/// Wrong tries in a row and until when the next try waits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PasscodeGuard {
    /// Seconds to wait after the 1st, 2nd, … wrong try in a row; the last for every later one.
    delays_s: Vec<u32>,
    wrong: u32,
    until: Option<OffsetDateTime>,
}

impl Default for PasscodeGuard {
    fn default() -> Self {
        PasscodeGuard::new(DEFAULT_PASSCODE_DELAYS_S.to_vec())
    }
}

impl PasscodeGuard {
    /// A guard waiting `delays_s` (`[desk] passcode_delays_s`) after wrong tries.
    pub fn new(delays_s: Vec<u32>) -> PasscodeGuard {
        PasscodeGuard {
            delays_s,
            wrong: 0,
            until: None,
        }
    }

    /// The whole seconds left before a code may be tried again (rounded up), if any.
    pub fn wait(&self, now: OffsetDateTime) -> Option<u64> {
        let left = self.until? - now;
        if left <= Duration::ZERO {
            return None;
        }
        let whole = left.whole_seconds();
        let up = if left > Duration::seconds(whole) {
            whole + 1
        } else {
            whole
        };
        u64::try_from(up).ok()
    }

    /// A wrong code was typed at `now`: the next try waits as the delays say.
    pub fn refused(&mut self, now: OffsetDateTime) {
        self.wrong = self.wrong.saturating_add(1);
        let index = usize::try_from(self.wrong.saturating_sub(1)).unwrap_or(usize::MAX);
        let seconds = self
            .delays_s
            .get(index)
            .or(self.delays_s.last())
            .copied()
            .unwrap_or(0);
        self.until = (seconds > 0).then(|| now + Duration::seconds(i64::from(seconds)));
    }

    /// The right code: the count starts again.
    pub fn accepted(&mut self) {
        self.wrong = 0;
        self.until = None;
    }

    /// Judges a typed code at `now` with `check`: not tried at all while a wait runs (so a
    /// wait cannot be used to learn the code), counted when wrong, the count reset when right.
    pub fn judge(&mut self, now: OffsetDateTime, check: impl FnOnce() -> bool) -> PasscodeOutcome {
        if let Some(seconds) = self.wait(now) {
            return PasscodeOutcome::Wait(seconds);
        }
        if check() {
            self.accepted();
            PasscodeOutcome::Right
        } else {
            self.refused(now);
            PasscodeOutcome::Wrong
        }
    }

    /// Wrong tries in a row so far.
    pub fn wrong_tries(&self) -> u32 {
        self.wrong
    }
}

/// What came of a typed passcode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PasscodeOutcome {
    Right,
    Wrong,
    /// Not tried: the wait after earlier wrong tries has this many seconds left.
    Wait(u64),
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn the_wait_grows_after_the_second_wrong_try_and_ends_with_a_right_one() {
        let t0 = datetime!(2026-11-21 10:00 +9);
        let mut g = PasscodeGuard::default();
        g.refused(t0);
        assert_eq!(g.wait(t0), None, "1st mistake: no wait");
        g.refused(t0);
        assert_eq!(g.wait(t0), None, "2nd mistake: no wait");
        g.refused(t0);
        assert_eq!(g.wait(t0), Some(5));
        assert_eq!(g.wait(t0 + Duration::milliseconds(4_500)), Some(1));
        assert_eq!(g.wait(t0 + Duration::seconds(5)), None);
        let t1 = t0 + Duration::seconds(5);
        g.refused(t1);
        assert_eq!(g.wait(t1), Some(15));
        let t2 = t1 + Duration::seconds(15);
        g.refused(t2);
        assert_eq!(g.wait(t2), Some(60));
        let t3 = t2 + Duration::seconds(60);
        g.refused(t3);
        assert_eq!(g.wait(t3), Some(60), "60 s for every later mistake");
        assert_eq!(g.wrong_tries(), 6);
        g.accepted();
        assert_eq!(g, PasscodeGuard::default());
        g.refused(t3);
        assert_eq!(
            g.wait(t3),
            None,
            "after a right code the count starts again"
        );
    }

    #[test]
    fn the_waits_are_the_configured_ones() {
        let t0 = datetime!(2026-11-21 10:00 +9);
        let mut g = PasscodeGuard::new(vec![30]);
        g.refused(t0);
        assert_eq!(g.wait(t0), Some(30), "the last value for every later try");
        g.refused(t0 + Duration::seconds(30));
        assert_eq!(g.wait(t0 + Duration::seconds(30)), Some(30));
        let mut g = PasscodeGuard::new(Vec::new());
        g.refused(t0);
        assert_eq!(g.wait(t0), None);
    }
}
