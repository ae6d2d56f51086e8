//! Watching readers and cards without polling.
//!
//! One `SCardGetStatusChange` call blocks until something changes or a bound passes. The list
//! always carries the PnP notification entry (`\\?PnP?\Notification`) so a reader plugged in
//! or pulled out wakes the wait, and every entry is fed back its last event state: a wait that
//! started from stale states would return at once, forever, and spin a core.
//!
//! pcscd may stop or restart under us (package upgrade, crash, a USB reset). The context it
//! gave is then dead: the watcher drops it, reports [`ReaderEvent::ServiceLost`], and builds a
//! new one on a later call, waiting between attempts instead of hammering the socket.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use pcsc::{Context, ReaderState, Scope, State, PNP_NOTIFICATION};

use super::error::CardError;
use super::pcsc::{card_present, map_error, reader_info, reader_names, ReaderInfo};

/// Something that changed at the desk's readers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReaderEvent {
    /// pcscd answers again (after being unreachable).
    ServiceRestored,
    /// pcscd stopped answering; readers are unknown until it comes back.
    ServiceLost(String),
    ReaderAdded(String),
    ReaderRemoved(String),
    CardInserted {
        reader: String,
    },
    CardRemoved {
        reader: String,
    },
}

/// How long to wait between attempts to reach a stopped pcscd.
const SERVICE_RETRY: Duration = Duration::from_millis(250);

/// Tracks readers and cards across calls to [`ReaderWatcher::wait`].
pub struct ReaderWatcher {
    ctx: Option<Context>,
    /// Entry 0 is the PnP notification; the rest are readers in `known` order.
    states: Vec<ReaderState>,
    /// Reader name → card present, as last reported.
    known: BTreeMap<String, bool>,
    service_lost: Option<String>,
}

impl Default for ReaderWatcher {
    fn default() -> Self {
        Self::new()
    }
}

impl ReaderWatcher {
    pub fn new() -> Self {
        Self {
            ctx: None,
            states: Vec::new(),
            known: BTreeMap::new(),
            service_lost: None,
        }
    }

    /// The readers as last seen.
    pub fn readers(&self) -> Vec<ReaderInfo> {
        self.states.iter().skip(1).map(reader_info).collect()
    }

    /// Why pcscd is unreachable, if it is.
    pub fn service_error(&self) -> Option<&str> {
        self.service_lost.as_deref()
    }

    /// Waits at most `timeout` for changes and returns them (possibly none). Never fails:
    /// trouble with pcscd is itself an event.
    pub fn wait(&mut self, timeout: Duration) -> Vec<ReaderEvent> {
        let mut events = Vec::new();
        let Some(ctx) = self
            .ctx
            .clone()
            .or_else(|| self.reconnect(timeout, &mut events))
        else {
            return events;
        };
        match ctx.get_status_change(timeout, &mut self.states) {
            Ok(()) => self.absorb(&ctx, &mut events),
            Err(pcsc::Error::Timeout) => {}
            Err(pcsc::Error::UnknownReader) => self.refresh_readers(&ctx, &mut events),
            // On a context-level call, a communications error is the broken socket to a pcscd
            // that just died (NoService follows on the next call): the context is dead.
            Err(e @ pcsc::Error::CommError) => self.lose_service(e.to_string(), &mut events),
            Err(e) => match map_error(e) {
                CardError::ServiceUnavailable(why) => self.lose_service(why, &mut events),
                other => {
                    // Unexpected, but never a reason to spin: wait out the bound and re-list.
                    tracing::warn!(error = %other, "SCardGetStatusChange failed");
                    std::thread::sleep(timeout.min(SERVICE_RETRY));
                    self.refresh_readers(&ctx, &mut events);
                }
            },
        }
        events
    }

    /// Waits until a card is on `reader` (or on any reader when `None`), up to `timeout`.
    /// Returns the reader's name. `Duration::ZERO` just looks once.
    pub fn wait_for_card(
        &mut self,
        reader: Option<&str>,
        timeout: Duration,
    ) -> Result<String, CardError> {
        let deadline = Instant::now() + timeout;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            // The first call always returns at once: new entries start UNAWARE.
            self.wait(remaining.min(Duration::from_secs(1)));
            if let Some(name) = self.find_card(reader) {
                return Ok(name);
            }
            if remaining.is_zero() {
                return Err(self.why_no_card(reader));
            }
        }
    }

    fn find_card(&self, reader: Option<&str>) -> Option<String> {
        let matching: Vec<&String> = self
            .known
            .keys()
            .filter(|n| reader_matches(n, reader))
            .collect();
        matching
            .into_iter()
            .find(|n| self.known.get(*n) == Some(&true))
            .cloned()
    }

    fn why_no_card(&self, reader: Option<&str>) -> CardError {
        if let Some(why) = &self.service_lost {
            return CardError::ServiceUnavailable(why.clone());
        }
        if self.known.is_empty() {
            return CardError::NoReader;
        }
        match reader {
            Some(r) if !self.known.keys().any(|n| reader_matches(n, Some(r))) => {
                CardError::ReaderNotFound(r.to_owned())
            }
            _ => CardError::NoCard,
        }
    }

    fn reconnect(&mut self, timeout: Duration, events: &mut Vec<ReaderEvent>) -> Option<Context> {
        match Context::establish(Scope::User) {
            Ok(ctx) => {
                if self.service_lost.take().is_some() {
                    events.push(ReaderEvent::ServiceRestored);
                }
                self.states = vec![ReaderState::new(PNP_NOTIFICATION(), State::UNAWARE)];
                self.refresh_readers(&ctx, events);
                self.ctx = Some(ctx.clone());
                Some(ctx)
            }
            Err(e) => {
                self.lose_service(e.to_string(), events);
                std::thread::sleep(timeout.min(SERVICE_RETRY));
                None
            }
        }
    }

    fn lose_service(&mut self, why: String, events: &mut Vec<ReaderEvent>) {
        self.ctx = None;
        for (name, present) in std::mem::take(&mut self.known) {
            if present {
                events.push(ReaderEvent::CardRemoved {
                    reader: name.clone(),
                });
            }
            events.push(ReaderEvent::ReaderRemoved(name));
        }
        self.states.clear();
        if self.service_lost.is_none() {
            tracing::warn!(%why, "PC/SC service lost");
            events.push(ReaderEvent::ServiceLost(why.clone()));
        }
        self.service_lost = Some(why);
    }

    /// Re-lists readers after a PnP change: keeps the fed-back state of known readers, adds
    /// new ones as UNAWARE (so the next wait reports their card at once), drops gone ones.
    fn refresh_readers(&mut self, ctx: &Context, events: &mut Vec<ReaderEvent>) {
        let names = match reader_names(ctx) {
            Ok(n) => n,
            Err(CardError::ServiceUnavailable(why)) => return self.lose_service(why, events),
            Err(e) => {
                tracing::warn!(error = %e, "listing readers");
                return;
            }
        };
        let pnp = self.states.drain(..).next();
        let mut old: BTreeMap<String, ReaderState> = self
            .states
            .drain(..)
            .map(|s| (s.name().to_string_lossy().into_owned(), s))
            .collect();
        self.states
            .push(pnp.unwrap_or_else(|| ReaderState::new(PNP_NOTIFICATION(), State::UNAWARE)));
        for name in names {
            let key = name.to_string_lossy().into_owned();
            let state = old.remove(&key).unwrap_or_else(|| {
                events.push(ReaderEvent::ReaderAdded(key.clone()));
                self.known.insert(key.clone(), false);
                ReaderState::new(name, State::UNAWARE)
            });
            self.states.push(state);
        }
        for gone in old.into_keys() {
            if self.known.remove(&gone) == Some(true) {
                events.push(ReaderEvent::CardRemoved {
                    reader: gone.clone(),
                });
            }
            events.push(ReaderEvent::ReaderRemoved(gone));
        }
    }

    /// Turns the states GetStatusChange returned into events, and feeds them back.
    fn absorb(&mut self, ctx: &Context, events: &mut Vec<ReaderEvent>) {
        let mut readers_changed = false;
        for (i, state) in self.states.iter_mut().enumerate() {
            let now = state.event_state();
            if i == 0 {
                readers_changed = now.contains(State::CHANGED);
            } else if now.contains(State::UNKNOWN) || now.contains(State::UNAVAILABLE) {
                readers_changed = true;
            } else {
                let name = state.name().to_string_lossy().into_owned();
                let present = card_present(now);
                let before = self.known.insert(name.clone(), present);
                match (before, present) {
                    (Some(false) | None, true) => {
                        events.push(ReaderEvent::CardInserted { reader: name })
                    }
                    (Some(true), false) => events.push(ReaderEvent::CardRemoved { reader: name }),
                    _ => {}
                }
            }
            state.sync_current_state();
        }
        if readers_changed {
            self.refresh_readers(ctx, events);
        }
    }
}

/// A reader matches the requested name exactly, or by prefix (names end in slot numbers that
/// staff rarely type: `Virtual PCD` for `Virtual PCD 00 00`).
fn reader_matches(name: &str, wanted: Option<&str>) -> bool {
    match wanted {
        None => true,
        Some(w) => name == w || name.starts_with(w),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_names_match_exactly_or_by_prefix() {
        assert!(reader_matches("Virtual PCD 00 00", None));
        assert!(reader_matches(
            "Virtual PCD 00 00",
            Some("Virtual PCD 00 00")
        ));
        assert!(reader_matches("Virtual PCD 00 00", Some("Virtual PCD")));
        assert!(!reader_matches("Virtual PCD 00 00", Some("SONY")));
    }
}
