//! Watching readers and cards without polling.
//!
//! One `SCardGetStatusChange` call blocks until something changes or a bound passes. The list
//! always carries the PnP notification entry (`\\?PnP?\Notification`) so a reader plugged in
//! or pulled out wakes the wait, and every entry is fed back its last event state: a wait that
//! started from stale states would return at once, forever, and spin a core. The state words
//! are fed back raw: on Windows the high word of the PnP entry holds the reader count (and of
//! a reader, its event counter), and a count fed back wrong also returns at once.
//!
//! The PC/SC service may stop or restart under us (pcscd: package upgrade, crash, a USB reset;
//! Windows: see below). The context it gave is then dead: the watcher drops it, reports the
//! readers and cards gone, and builds a new one on a later call, pausing between attempts
//! instead of hammering the service.
//!
//! # Windows
//!
//! The same `pcsc` crate runs over WinSCard, whose service (SCardSvr) behaves differently from
//! pcscd:
//! - it stops when the last reader is unplugged, and starts again when a reader arrives: calls
//!   on the old context then fail with `SCARD_E_SERVICE_STOPPED`, a new context with
//!   `SCARD_E_NO_SERVICE` until a reader is back, and `SCARD_E_INVALID_HANDLE` can follow a
//!   restart. A service stopped with no reader attached (or never reached while no reader was
//!   ever seen) is therefore the normal "no reader" state there, not a failure: it is
//!   [`Service::Idle`], reported as no reader ([`CardError::NoReader`]) with no
//!   [`ReaderEvent::ServiceLost`]. A service lost while readers were attached is a failure on
//!   every platform ([`ReaderEvent::ServiceLost`], then [`ReaderEvent::ServiceRestored`]).
//!   On Linux pcscd does not stop for want of readers, so a pcscd gone is always a failure
//!   (the desk says to check pcscd);
//! - `SCardListReaders` with no reader fails with `SCARD_E_NO_READERS_AVAILABLE` (pcscd does
//!   too): that is an empty list, not an error.
//!
//! If Windows ever reports the stop before the removal of the last reader, the loss counts as
//! a failure until a reader comes back; the Windows desk message then asks to plug the reader
//! in again first, which is also what restarts the service.
//!
//! # Tests
//!
//! Wine's winscard is a stub, so none of this can run end to end here. The watcher makes its
//! PC/SC calls through [`StatusSource`]; the unit tests below drive it with a fake service
//! that behaves like WinSCard (stops without readers, NoService, InvalidHandle after a
//! restart, NoReadersAvailable) plus a queue of scripted errors per call, and count the calls
//! and the pauses (no busy loop). pcscd's side is also covered end to end against a real pcscd
//! (`tests/pcscd_restart.rs`).

use std::collections::BTreeMap;
use std::ffi::{CStr, CString};
use std::time::{Duration, Instant};

use pcsc::{State, PNP_NOTIFICATION};

use super::error::CardError;
use super::pcsc::{
    context_is_dead, map_error, reader_info_of, readers_or_none, PcscStatus, ReaderInfo,
};

/// Something that changed at the desk's readers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReaderEvent {
    /// The PC/SC service answers again (after being lost).
    ServiceRestored,
    /// The PC/SC service stopped answering; readers are unknown until it comes back. Not
    /// reported for a Windows service that stopped with no reader attached ([`Service::Idle`]).
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

/// The PC/SC calls the watcher makes (SCardEstablishContext, SCardListReaders,
/// SCardGetStatusChange), behind a trait so that its recovery from a service that stops can
/// be driven by scripted errors in unit tests: WinSCard cannot be run here.
///
/// Errors are the raw PC/SC ones; the watcher decides what they mean.
pub trait StatusSource {
    /// A context (SCARDCONTEXT); a clone refers to the same one.
    type Context: Clone;

    fn establish(&mut self) -> Result<Self::Context, pcsc::Error>;

    /// The reader names; none may be `Err(NoReadersAvailable)`.
    fn list_readers(&mut self, ctx: &Self::Context) -> Result<Vec<CString>, pcsc::Error>;

    /// Blocks up to `timeout` until an entry's state differs from its current state; sets
    /// each entry's event state (and ATR).
    fn get_status_change(
        &mut self,
        ctx: &Self::Context,
        timeout: Duration,
        entries: &mut [ReaderSlot],
    ) -> Result<(), pcsc::Error>;

    /// Waits between attempts to reach a service that does not answer.
    fn pause(&mut self, pause: Duration) {
        std::thread::sleep(pause);
    }
}

/// One entry of the SCardGetStatusChange list (`SCARD_READERSTATE`), owned by the watcher.
///
/// The states keep every bit (`from_bits_retain`): the high word is a count on both
/// platforms and must go back as it came.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReaderSlot {
    name: CString,
    current: State,
    event: State,
    atr: Vec<u8>,
}

impl ReaderSlot {
    /// A new entry: UNAWARE, so the next wait reports its state at once.
    pub fn new(name: CString) -> Self {
        Self {
            name,
            current: State::UNAWARE,
            event: State::UNAWARE,
            atr: Vec::new(),
        }
    }

    fn pnp() -> Self {
        Self::new(PNP_NOTIFICATION().to_owned())
    }

    pub fn name(&self) -> &CStr {
        &self.name
    }

    /// The state the caller last saw, raw (fed to the call as `dwCurrentState`).
    pub fn current_raw(&self) -> State {
        self.current
    }

    /// The state the last call reported, raw (with the count in the high word).
    pub fn event_raw(&self) -> State {
        self.event
    }

    /// The state flags the last call reported, without the count.
    pub fn event_state(&self) -> State {
        State::from_bits_truncate(self.event.bits())
    }

    pub fn atr(&self) -> &[u8] {
        &self.atr
    }

    /// Records what the call reported.
    pub fn set_event(&mut self, event: State, atr: &[u8]) {
        self.event = event;
        self.atr = atr.to_vec();
    }

    /// The event state becomes the current one: the next wait blocks until something else
    /// changes.
    fn sync_current_state(&mut self) {
        self.current = self.event;
    }

    fn info(&self) -> ReaderInfo {
        reader_info_of(&self.name, self.event_state(), &self.atr)
    }
}

/// How the PC/SC service is doing, as the watcher last saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Service {
    /// Answering (or not tried yet).
    Up,
    /// Lost while readers were attached (or on a platform where it never stops by design):
    /// a failure the desk reports.
    Lost(String),
    /// Stopped, or never reached, with no reader attached, on a platform where the service
    /// stops by design when no reader is attached (Windows). The desk says "no reader".
    Idle(String),
}

/// How long to wait between attempts to reach a stopped service.
const SERVICE_RETRY: Duration = Duration::from_millis(250);

/// Tracks readers and cards across calls to [`ReaderWatcher::wait`].
pub struct ReaderWatcher<S: StatusSource = PcscStatus> {
    source: S,
    ctx: Option<S::Context>,
    /// Entry 0 is the PnP notification; the rest are readers in `known` order.
    states: Vec<ReaderSlot>,
    /// Reader name → card present, as last reported.
    known: BTreeMap<String, bool>,
    service: Service,
    /// The service stops by design when no reader is attached (Windows' SCardSvr).
    stops_without_readers: bool,
    /// Pause between attempts to reach the service.
    retry: Duration,
}

impl Default for ReaderWatcher {
    fn default() -> Self {
        Self::new()
    }
}

impl ReaderWatcher {
    /// A watcher over the system's PC/SC service.
    pub fn new() -> Self {
        Self::with_source(PcscStatus)
    }
}

impl<S: StatusSource> ReaderWatcher<S> {
    /// A watcher over `source`, with the platform's view of a service stopped without
    /// readers (normal on Windows, a failure elsewhere).
    pub fn with_source(source: S) -> Self {
        Self {
            source,
            ctx: None,
            states: Vec::new(),
            known: BTreeMap::new(),
            service: Service::Up,
            stops_without_readers: cfg!(windows),
            retry: SERVICE_RETRY,
        }
    }

    /// The readers as last seen.
    pub fn readers(&self) -> Vec<ReaderInfo> {
        self.states.iter().skip(1).map(ReaderSlot::info).collect()
    }

    /// How the service is doing.
    pub fn service(&self) -> &Service {
        &self.service
    }

    /// Why the PC/SC service is unreachable, if that is a failure. A Windows service stopped
    /// for want of readers is not one: the desk then shows no reader.
    pub fn service_error(&self) -> Option<&str> {
        match &self.service {
            Service::Lost(why) => Some(why),
            Service::Up | Service::Idle(_) => None,
        }
    }

    /// Waits at most `timeout` for changes and returns them (possibly none). Never fails:
    /// trouble with the service is itself an event.
    pub fn wait(&mut self, timeout: Duration) -> Vec<ReaderEvent> {
        let mut events = Vec::new();
        let Some(ctx) = self
            .ctx
            .clone()
            .or_else(|| self.reconnect(timeout, &mut events))
        else {
            return events;
        };
        let pause = timeout.min(self.retry);
        match self
            .source
            .get_status_change(&ctx, timeout, &mut self.states)
        {
            Ok(()) => self.absorb(&ctx, pause, &mut events),
            Err(pcsc::Error::Timeout) => {}
            Err(pcsc::Error::UnknownReader) => self.refresh_readers(&ctx, pause, &mut events),
            // No reader at all (WinSCard may say so here too): nothing to warn about, but
            // nothing blocked either, so the pause keeps the pace.
            Err(pcsc::Error::NoReadersAvailable) => {
                self.source.pause(pause);
                self.refresh_readers(&ctx, pause, &mut events);
            }
            Err(e) if context_is_dead(e) => self.lose_service(e, pause, &mut events),
            Err(e) => {
                // Unexpected, but never a reason to spin: wait out the bound and re-list.
                tracing::warn!(error = %map_error(e), "SCardGetStatusChange failed");
                self.source.pause(pause);
                self.refresh_readers(&ctx, pause, &mut events);
            }
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
        if let Service::Lost(why) = &self.service {
            return CardError::ServiceUnavailable(why.clone());
        }
        // An idle Windows service has no readers: that is what the desk is told.
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

    fn reconnect(
        &mut self,
        timeout: Duration,
        events: &mut Vec<ReaderEvent>,
    ) -> Option<S::Context> {
        let pause = timeout.min(self.retry);
        match self.source.establish() {
            Ok(ctx) => {
                match std::mem::replace(&mut self.service, Service::Up) {
                    Service::Lost(_) => {
                        tracing::info!("PC/SC service restored");
                        events.push(ReaderEvent::ServiceRestored);
                    }
                    Service::Idle(_) => tracing::info!("PC/SC service started (a reader arrived)"),
                    Service::Up => {}
                }
                self.states = vec![ReaderSlot::pnp()];
                self.ctx = Some(ctx.clone());
                self.refresh_readers(&ctx, pause, events);
                // Listing may have found the new context dead already.
                self.ctx.clone()
            }
            Err(e) => {
                self.lose_service(e, pause, events);
                None
            }
        }
    }

    /// The context is dead (or none could be made): readers and cards are reported gone, the
    /// service lost (once), and the caller paused so a dead service is not hammered.
    fn lose_service(&mut self, e: pcsc::Error, pause: Duration, events: &mut Vec<ReaderEvent>) {
        self.ctx = None;
        let why = e.to_string();
        // Decided before the readers are forgotten: did the service go with readers attached?
        let idle = self.stops_without_readers && self.known.is_empty();
        for (name, present) in std::mem::take(&mut self.known) {
            if present {
                events.push(ReaderEvent::CardRemoved {
                    reader: name.clone(),
                });
            }
            events.push(ReaderEvent::ReaderRemoved(name));
        }
        self.states.clear();
        self.service = match &self.service {
            // Still down: the desk was told once; the reason is kept current for the log.
            Service::Lost(_) => Service::Lost(why),
            Service::Idle(_) => Service::Idle(why),
            Service::Up if idle => {
                tracing::info!(%why, "PC/SC service stopped with no reader attached");
                Service::Idle(why)
            }
            Service::Up => {
                tracing::warn!(%why, "PC/SC service lost");
                events.push(ReaderEvent::ServiceLost(why.clone()));
                Service::Lost(why)
            }
        };
        self.source.pause(pause);
    }

    /// Re-lists readers after a PnP change: keeps the fed-back state of known readers, adds
    /// new ones as UNAWARE (so the next wait reports their card at once), drops gone ones.
    fn refresh_readers(
        &mut self,
        ctx: &S::Context,
        pause: Duration,
        events: &mut Vec<ReaderEvent>,
    ) {
        let names = match readers_or_none(self.source.list_readers(ctx)) {
            Ok(n) => n,
            Err(e) if context_is_dead(e) => return self.lose_service(e, pause, events),
            Err(e) => {
                tracing::warn!(error = %map_error(e), "listing readers");
                return;
            }
        };
        // One drain for both: a drain dropped after its first item empties the whole list.
        let mut drained = self.states.drain(..);
        let pnp = drained.next();
        let mut old: BTreeMap<String, ReaderSlot> = drained
            .map(|s| (s.name().to_string_lossy().into_owned(), s))
            .collect();
        self.states.push(pnp.unwrap_or_else(ReaderSlot::pnp));
        for name in names {
            let key = name.to_string_lossy().into_owned();
            let state = old.remove(&key).unwrap_or_else(|| {
                events.push(ReaderEvent::ReaderAdded(key.clone()));
                self.known.insert(key.clone(), false);
                ReaderSlot::new(name)
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
    fn absorb(&mut self, ctx: &S::Context, pause: Duration, events: &mut Vec<ReaderEvent>) {
        let mut readers_changed = false;
        for (i, state) in self.states.iter_mut().enumerate() {
            let now = state.event_state();
            if i == 0 {
                readers_changed = now.contains(State::CHANGED);
            } else if now.contains(State::UNKNOWN) || now.contains(State::UNAVAILABLE) {
                readers_changed = true;
            } else {
                let name = state.name().to_string_lossy().into_owned();
                let present = super::pcsc::card_present(now);
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
            self.refresh_readers(ctx, pause, events);
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
    use std::cell::{RefCell, RefMut};
    use std::collections::VecDeque;
    use std::rc::Rc;

    use pcsc::Error as E;

    use super::*;

    /// A PC/SC service as WinSCard behaves, in process: it can stop (`SERVICE_STOPPED` on the
    /// old context, `NO_SERVICE` to establish), restart (`INVALID_HANDLE` on the old context),
    /// lists no reader as `NO_READERS_AVAILABLE`, and puts the reader count in the high word
    /// of the PnP entry. Scripted errors are answered first, one queue per call; calls and
    /// pauses are counted (a wait that times out counts as a pause of its timeout).
    #[derive(Default)]
    struct World {
        up: bool,
        /// Bumped each time the service starts: contexts of an earlier run are dead.
        run: u32,
        /// Reader → the ATR of the card on it, if any.
        readers: BTreeMap<String, Option<Vec<u8>>>,
        /// Per reader, how often its card came or went (the high word of its state).
        changes: BTreeMap<String, u32>,
        establish_script: VecDeque<E>,
        list_script: VecDeque<E>,
        wait_script: VecDeque<E>,
        establishes: u32,
        lists: u32,
        waits: u32,
        pauses: Vec<Duration>,
        /// Waits in a row that reported nothing and took no time.
        idle_spins: u32,
    }

    impl World {
        fn alive(&self, ctx: u32) -> Result<(), E> {
            if !self.up {
                Err(E::ServiceStopped)
            } else if ctx != self.run {
                Err(E::InvalidHandle)
            } else {
                Ok(())
            }
        }

        fn state_of(&self, name: &CStr) -> (State, Vec<u8>) {
            if name == PNP_NOTIFICATION() {
                let count = self.readers.len() as u32;
                return (State::from_bits_retain((count << 16).into()), Vec::new());
            }
            let name = name.to_string_lossy().into_owned();
            let Some(card) = self.readers.get(&name) else {
                return (State::UNKNOWN, Vec::new());
            };
            let count = self.changes.get(&name).copied().unwrap_or(0);
            let count = State::from_bits_retain((count << 16).into());
            match card {
                Some(atr) => (State::PRESENT | count, atr.clone()),
                None => (State::EMPTY | count, Vec::new()),
            }
        }
    }

    #[derive(Clone)]
    struct Fake(Rc<RefCell<World>>);

    /// The ATR of a My Number card on a contactless reader.
    const MY_NUMBER_ATR: [u8; 9] = [0x3B, 0xE0, 0x00, 0xFF, 0x81, 0x31, 0xFE, 0x45, 0x14];
    const WAIT: Duration = Duration::from_secs(1);
    /// What a wait pauses when the service does not answer: `WAIT.min(SERVICE_RETRY)`.
    const PAUSE: Duration = SERVICE_RETRY;

    impl Fake {
        fn up() -> Self {
            let fake = Fake(Rc::default());
            fake.start();
            fake
        }

        fn down() -> Self {
            Fake(Rc::default())
        }

        fn world(&self) -> RefMut<'_, World> {
            self.0.borrow_mut()
        }

        fn start(&self) {
            let mut w = self.world();
            w.up = true;
            w.run += 1;
        }

        fn stop(&self) {
            self.world().up = false;
        }

        fn plug(&self, reader: &str) {
            self.world().readers.insert(reader.into(), None);
        }

        fn unplug(&self, reader: &str) {
            self.world().readers.remove(reader);
        }

        fn insert(&self, reader: &str, atr: &[u8]) {
            let mut w = self.world();
            w.readers.insert(reader.into(), Some(atr.to_vec()));
            *w.changes.entry(reader.into()).or_default() += 1;
        }

        /// A watcher over this fake, on Windows (`true`) or Linux terms.
        fn watcher(&self, windows: bool) -> ReaderWatcher<Fake> {
            let mut w = ReaderWatcher::with_source(self.clone());
            w.stops_without_readers = windows;
            w
        }
    }

    impl StatusSource for Fake {
        type Context = u32;

        fn establish(&mut self) -> Result<u32, E> {
            let mut w = self.world();
            w.establishes += 1;
            if let Some(e) = w.establish_script.pop_front() {
                return Err(e);
            }
            if w.up {
                Ok(w.run)
            } else {
                Err(E::NoService)
            }
        }

        fn list_readers(&mut self, ctx: &u32) -> Result<Vec<CString>, E> {
            let mut w = self.world();
            w.lists += 1;
            if let Some(e) = w.list_script.pop_front() {
                return Err(e);
            }
            w.alive(*ctx)?;
            if w.readers.is_empty() {
                return Err(E::NoReadersAvailable);
            }
            Ok(w.readers
                .keys()
                .map(|n| CString::new(n.as_str()).expect("reader name"))
                .collect())
        }

        fn get_status_change(
            &mut self,
            ctx: &u32,
            timeout: Duration,
            entries: &mut [ReaderSlot],
        ) -> Result<(), E> {
            let mut w = self.world();
            w.waits += 1;
            if let Some(e) = w.wait_script.pop_front() {
                return Err(e);
            }
            w.alive(*ctx)?;
            assert_eq!(
                entries.first().map(ReaderSlot::name),
                Some(PNP_NOTIFICATION()),
                "the PnP entry is always first"
            );
            let mut changed = false;
            for entry in entries.iter_mut() {
                let (now, atr) = w.state_of(entry.name());
                let seen = entry.current_raw() - State::CHANGED;
                let differs = seen != now;
                entry.set_event(if differs { now | State::CHANGED } else { now }, &atr);
                changed |= differs;
            }
            if changed {
                Ok(())
            } else {
                w.pauses.push(timeout);
                Err(E::Timeout)
            }
        }

        fn pause(&mut self, pause: Duration) {
            self.world().pauses.push(pause);
        }
    }

    /// One wait; never a busy loop: of two waits in a row that report nothing, one took its
    /// time (the first wait on a new reader's UNAWARE entry returns at once by design).
    fn step(w: &mut ReaderWatcher<Fake>) -> Vec<ReaderEvent> {
        let before: Duration = w.source.world().pauses.iter().sum();
        let events = w.wait(WAIT);
        let mut world = w.source.world();
        let after: Duration = world.pauses.iter().sum();
        if events.is_empty() && after - before < PAUSE {
            world.idle_spins += 1;
            assert!(
                world.idle_spins < 2,
                "waits return nothing at once: a busy loop"
            );
        } else {
            world.idle_spins = 0;
        }
        drop(world);
        events
    }

    fn added(r: &str) -> ReaderEvent {
        ReaderEvent::ReaderAdded(r.into())
    }

    fn removed(r: &str) -> ReaderEvent {
        ReaderEvent::ReaderRemoved(r.into())
    }

    fn inserted(r: &str) -> ReaderEvent {
        ReaderEvent::CardInserted { reader: r.into() }
    }

    fn taken(r: &str) -> ReaderEvent {
        ReaderEvent::CardRemoved { reader: r.into() }
    }

    fn no_card(w: &mut ReaderWatcher<Fake>) -> CardError {
        w.wait_for_card(None, Duration::ZERO)
            .expect_err("no card expected")
    }

    /// A watcher that has seen reader `R1` with a card on it.
    fn with_card(fake: &Fake, windows: bool) -> ReaderWatcher<Fake> {
        fake.insert("R1", &MY_NUMBER_ATR);
        let mut w = fake.watcher(windows);
        assert_eq!(step(&mut w), [added("R1"), inserted("R1")]);
        assert_eq!(step(&mut w), []);
        w
    }

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

    #[test]
    fn a_context_that_dies_mid_wait_is_dropped_and_a_new_one_finds_the_card_again() {
        for windows in [false, true] {
            for error in [
                E::ServiceStopped,
                E::NoService,
                E::InvalidHandle,
                E::CommError,
            ] {
                let fake = Fake::up();
                let mut w = with_card(&fake, windows);
                fake.world().wait_script.push_back(error);
                let events = step(&mut w);
                assert_eq!(
                    events,
                    [
                        taken("R1"),
                        removed("R1"),
                        ReaderEvent::ServiceLost(error.to_string())
                    ],
                    "{error:?}"
                );
                assert_eq!(w.service_error(), Some(error.to_string().as_str()));
                assert!(w.readers().is_empty());
                assert_eq!(w.why_no_card(None).kind(), "service_unavailable");
                assert_eq!(fake.world().establishes, 1);
                let events = step(&mut w);
                assert_eq!(
                    events,
                    [ReaderEvent::ServiceRestored, added("R1"), inserted("R1")],
                    "{error:?}"
                );
                assert_eq!(fake.world().establishes, 2, "a new context");
                assert_eq!(w.service(), &Service::Up);
                assert_eq!(w.wait_for_card(None, Duration::ZERO), Ok("R1".into()));
            }
        }
    }

    #[test]
    fn a_service_restarted_under_the_watcher_answers_invalid_handle_and_is_reached_again() {
        let fake = Fake::up();
        let mut w = with_card(&fake, true);
        fake.stop();
        fake.start();
        let events = step(&mut w);
        assert_eq!(
            events,
            [
                taken("R1"),
                removed("R1"),
                ReaderEvent::ServiceLost(E::InvalidHandle.to_string())
            ]
        );
        assert_eq!(
            step(&mut w),
            [ReaderEvent::ServiceRestored, added("R1"), inserted("R1")]
        );
    }

    #[test]
    fn windows_the_last_reader_unplugged_then_the_service_stopping_is_no_reader() {
        let fake = Fake::up();
        let mut w = with_card(&fake, true);
        fake.unplug("R1");
        assert_eq!(step(&mut w), [taken("R1"), removed("R1")]);
        assert_eq!(no_card(&mut w), CardError::NoReader);
        fake.stop();
        assert_eq!(step(&mut w), [], "no ServiceLost for a normal stop");
        assert!(matches!(w.service(), Service::Idle(_)), "{:?}", w.service());
        assert_eq!(w.service_error(), None);
        assert_eq!(no_card(&mut w), CardError::NoReader);
        for _ in 0..5 {
            assert_eq!(step(&mut w), []);
        }
        // A reader arrives: the service starts and the reader and its card are found.
        fake.start();
        fake.insert("R2", &MY_NUMBER_ATR);
        assert_eq!(step(&mut w), [added("R2"), inserted("R2")]);
        assert_eq!(w.service(), &Service::Up);
    }

    #[test]
    fn linux_a_pcscd_gone_after_the_last_reader_is_still_a_failure() {
        let fake = Fake::up();
        let mut w = with_card(&fake, false);
        fake.unplug("R1");
        assert_eq!(step(&mut w), [taken("R1"), removed("R1")]);
        fake.stop();
        assert_eq!(
            step(&mut w),
            [ReaderEvent::ServiceLost(E::ServiceStopped.to_string())]
        );
        assert_eq!(no_card(&mut w).kind(), "service_unavailable");
        fake.start();
        assert_eq!(step(&mut w), [ReaderEvent::ServiceRestored]);
    }

    #[test]
    fn a_service_absent_while_no_reader_was_ever_seen_is_no_reader_on_windows_only() {
        let fake = Fake::down();
        let mut w = fake.watcher(true);
        assert_eq!(step(&mut w), []);
        assert_eq!(w.service(), &Service::Idle(E::NoService.to_string()));
        assert_eq!(w.service_error(), None);
        assert_eq!(no_card(&mut w), CardError::NoReader);

        let mut w = fake.watcher(false);
        assert_eq!(
            step(&mut w),
            [ReaderEvent::ServiceLost(E::NoService.to_string())]
        );
        assert_eq!(no_card(&mut w).kind(), "service_unavailable");
    }

    #[test]
    fn no_readers_available_from_listing_is_zero_readers_not_a_failure() {
        for windows in [false, true] {
            let fake = Fake::up();
            let mut w = fake.watcher(windows);
            assert_eq!(step(&mut w), []);
            assert_eq!(step(&mut w), []);
            assert!(fake.world().lists >= 1);
            assert_eq!(w.service(), &Service::Up);
            assert!(w.readers().is_empty());
            assert_eq!(no_card(&mut w), CardError::NoReader);
            assert_eq!(fake.world().establishes, 1);
        }
    }

    #[test]
    fn a_reader_plugged_in_later_is_found_through_the_pnp_entry_with_its_card() {
        let fake = Fake::up();
        let mut w = fake.watcher(true);
        assert_eq!(step(&mut w), []);
        fake.plug("R1");
        assert_eq!(step(&mut w), [added("R1")]);
        assert_eq!(step(&mut w), []);
        // Any ATR: cards are told apart by the JPKI AID, never by their ATR (`jpki::select`).
        let felica = [0x3B, 0x8F, 0x80, 0x01, 0x80, 0x4F, 0x0C, 0xA0, 0x00, 0x00];
        fake.insert("R1", &felica);
        assert_eq!(step(&mut w), [inserted("R1")]);
        assert_eq!(
            w.readers(),
            [ReaderInfo {
                name: "R1".into(),
                card_present: true,
                atr: Some("3B8F8001804F0CA00000".into()),
            }]
        );
        assert_eq!(w.wait_for_card(Some("R"), Duration::ZERO), Ok("R1".into()));
        assert_eq!(fake.world().establishes, 1, "found without a new context");
    }

    /// Regression: re-listing readers emptied the list it meant to keep (a drain dropped after
    /// its first item), so a second reader re-announced the first one and its card, and an
    /// unplugged reader was never reported gone.
    #[test]
    fn a_second_reader_does_not_announce_the_first_again_and_an_unplugged_one_is_gone() {
        let fake = Fake::up();
        let mut w = with_card(&fake, false);
        fake.plug("R2");
        assert_eq!(step(&mut w), [added("R2")]);
        assert_eq!(step(&mut w), []);
        fake.unplug("R1");
        assert_eq!(step(&mut w), [taken("R1"), removed("R1")]);
        assert_eq!(no_card(&mut w), CardError::NoCard);
    }

    #[test]
    fn establishing_that_keeps_failing_retries_at_a_bounded_pace_and_reports_once() {
        for windows in [false, true] {
            let fake = Fake::up();
            let mut w = with_card(&fake, windows);
            fake.stop();
            let lost = step(&mut w);
            assert_eq!(
                lost.iter()
                    .filter(|e| matches!(e, ReaderEvent::ServiceLost(_)))
                    .count(),
                1
            );
            let establishes = fake.world().establishes;
            let pauses = fake.world().pauses.len();
            for _ in 0..20 {
                assert_eq!(step(&mut w), [], "no event spam");
            }
            {
                let world = fake.world();
                assert_eq!(world.establishes - establishes, 20, "one attempt per wait");
                assert_eq!(world.pauses.len() - pauses, 20, "one pause per attempt");
                assert!(world.pauses[pauses..].iter().all(|p| *p == PAUSE));
            }
            fake.start();
            assert_eq!(
                step(&mut w),
                [ReaderEvent::ServiceRestored, added("R1"), inserted("R1")]
            );
            for _ in 0..3 {
                assert_eq!(step(&mut w), []);
            }
        }
    }

    #[test]
    fn a_context_dead_when_listing_right_after_establishing_is_not_resurrected() {
        let fake = Fake::up();
        let mut w = with_card(&fake, false);
        fake.world().wait_script.push_back(E::ServiceStopped);
        step(&mut w);
        fake.world().list_script.push_back(E::InvalidHandle);
        let events = step(&mut w);
        assert_eq!(
            events,
            [
                ReaderEvent::ServiceRestored,
                ReaderEvent::ServiceLost(E::InvalidHandle.to_string())
            ]
        );
        assert!(w.ctx.is_none());
        assert_eq!(
            step(&mut w),
            [ReaderEvent::ServiceRestored, added("R1"), inserted("R1")]
        );
    }

    #[test]
    fn an_unexpected_wait_error_pauses_and_relists_without_losing_the_service() {
        let fake = Fake::up();
        let mut w = with_card(&fake, false);
        fake.world().wait_script.push_back(E::InternalError);
        assert_eq!(step(&mut w), []);
        assert_eq!(w.service(), &Service::Up);
        assert_eq!(w.wait_for_card(None, Duration::ZERO), Ok("R1".into()));
    }

    #[test]
    fn no_readers_available_from_waiting_is_paced_and_not_a_failure() {
        let fake = Fake::up();
        let mut w = fake.watcher(true);
        for _ in 0..3 {
            fake.world().wait_script.push_back(E::NoReadersAvailable);
            assert_eq!(step(&mut w), []);
        }
        assert_eq!(w.service(), &Service::Up);
        assert_eq!(fake.world().establishes, 1);
        fake.plug("R1");
        assert_eq!(step(&mut w), [added("R1")]);
    }

    #[test]
    fn the_counts_in_the_high_word_are_fed_back() {
        let fake = Fake::up();
        let mut w = with_card(&fake, true);
        assert_eq!(
            w.states[0].current_raw().bits() >> 16,
            1,
            "one reader, fed back"
        );
        // Nothing changed: the next waits block (time out), they do not return at once.
        let waits = fake.world().waits;
        assert_eq!(step(&mut w), []);
        assert_eq!(fake.world().waits, waits + 1);
    }
}
