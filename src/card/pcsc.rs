//! The PC/SC reader: the real [`Transmit`] over pcsc-lite (or WinSCard).
//!
//! PC/SC habits that matter at a desk, all kept here:
//! - every multi-APDU sequence runs inside one transaction, so another program (a face-auth
//!   reader driver, a vendor tool) cannot slip a SELECT between ours;
//! - the card is released with `LeaveCard`: the `pcsc` crate resets on drop, which would throw
//!   away a verified PIN and make other programs re-select;
//! - a `ResetCard` from PC/SC means someone reset the card: reconnect, and re-run the sequence
//!   if it is safe to (reads are; a VERIFY is not, it may have cost a try);
//! - pcsc errors become [`CardError`]s in one function, [`map_error`].

use std::ffi::{CStr, CString};
use std::time::Duration;

use pcsc::{Context, Disposition, Protocols, ReaderState, Scope, ShareMode, State};

use super::error::CardError;
use super::transport::{Channel, Transmit};
use super::watcher::{ReaderSlot, StatusSource};

/// Response buffer: 256 data bytes + SW, with room for readers that add more.
const RESPONSE_BUFFER: usize = pcsc::MAX_BUFFER_SIZE_EXTENDED;

/// A PC/SC context: the connection to pcscd.
pub struct Pcsc {
    ctx: Context,
}

/// One reader and whether a card is on it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ReaderInfo {
    pub name: String,
    pub card_present: bool,
    /// The ATR the reader reports (hex), for diagnostics only: cards are never identified by it.
    pub atr: Option<String>,
}

impl Pcsc {
    pub fn establish() -> Result<Self, CardError> {
        let ctx = Context::establish(Scope::User).map_err(map_error)?;
        Ok(Self { ctx })
    }

    /// Lists the readers and their card presence, without waiting.
    pub fn readers(&self) -> Result<Vec<ReaderInfo>, CardError> {
        let names = reader_names(&self.ctx)?;
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let mut states: Vec<ReaderState> = names
            .iter()
            .map(|n| ReaderState::new(n.clone(), State::UNAWARE))
            .collect();
        self.ctx
            .get_status_change(Duration::ZERO, &mut states)
            .map_err(map_error)?;
        Ok(states.iter().map(reader_info).collect())
    }

    /// Connects to the card on `reader` (shared mode: other desk software may use it too).
    pub fn connect(&self, reader: &str) -> Result<PcscCard, CardError> {
        let name = CString::new(reader).map_err(|_| CardError::ReaderNotFound(reader.into()))?;
        let card = self
            .ctx
            .connect(&name, ShareMode::Shared, Protocols::ANY)
            .map_err(|e| connect_error(e, reader))?;
        Ok(PcscCard {
            card: Some(card),
            ctx: self.ctx.clone(),
            reader: name,
        })
    }
}

/// A failed SCardConnect: no card yet is "no card", not "removed"; a stopped service (a
/// Windows SCardSvr that stopped, `INVALID_HANDLE` after its restart) is
/// [`CardError::ServiceUnavailable`] through [`map_error`].
fn connect_error(e: pcsc::Error, reader: &str) -> CardError {
    match e {
        pcsc::Error::NoSmartcard | pcsc::Error::RemovedCard => CardError::NoCard,
        pcsc::Error::UnknownReader => CardError::ReaderNotFound(reader.into()),
        other => map_error(other),
    }
}

/// The reader names the service knows; none is an empty list, not an error.
pub(crate) fn reader_names(ctx: &Context) -> Result<Vec<CString>, CardError> {
    readers_or_none(ctx.list_readers_owned()).map_err(map_error)
}

/// SCardListReaders with no reader fails with `NO_READERS_AVAILABLE` (pcscd and WinSCard
/// alike): that is an empty list, not an error.
pub(crate) fn readers_or_none(
    listed: Result<Vec<CString>, pcsc::Error>,
) -> Result<Vec<CString>, pcsc::Error> {
    match listed {
        Err(pcsc::Error::NoReadersAvailable) => Ok(Vec::new()),
        other => other,
    }
}

/// Whether an error on a context-level call (list, wait; not a card session) means the
/// context is dead: the service stopped (`SERVICE_STOPPED`), is gone (`NO_SERVICE`), or was
/// restarted under it (`INVALID_HANDLE`, which follows a WinSCard restart). A communications
/// error there is the broken socket to a pcscd that just died (NoService follows on the next
/// call).
pub(crate) fn context_is_dead(e: pcsc::Error) -> bool {
    use pcsc::Error as E;
    matches!(
        e,
        E::NoService | E::ServiceStopped | E::InvalidHandle | E::CommError
    )
}

pub(crate) fn reader_info(state: &ReaderState) -> ReaderInfo {
    reader_info_of(state.name(), state.event_state(), state.atr())
}

/// A reader as the desk lists it, from its name, state flags and ATR.
pub(crate) fn reader_info_of(name: &CStr, state: State, atr: &[u8]) -> ReaderInfo {
    let present = card_present(state);
    ReaderInfo {
        name: name.to_string_lossy().into_owned(),
        card_present: present,
        atr: present.then(|| super::apdu::hex_upper(atr)),
    }
}

/// The reader watcher's calls over the system's PC/SC service (pcsc-lite or WinSCard).
#[derive(Clone, Copy, Debug, Default)]
pub struct PcscStatus;

impl StatusSource for PcscStatus {
    type Context = Context;

    fn establish(&mut self) -> Result<Context, pcsc::Error> {
        Context::establish(Scope::User)
    }

    fn list_readers(&mut self, ctx: &Context) -> Result<Vec<CString>, pcsc::Error> {
        ctx.list_readers_owned()
    }

    fn get_status_change(
        &mut self,
        ctx: &Context,
        timeout: Duration,
        entries: &mut [ReaderSlot],
    ) -> Result<(), pcsc::Error> {
        let mut states: Vec<ReaderState> = entries
            .iter()
            .map(|e| ReaderState::new(e.name().to_owned(), e.current_raw()))
            .collect();
        ctx.get_status_change(timeout, &mut states)?;
        for (entry, state) in entries.iter_mut().zip(&states) {
            // `event_state` drops the high word; the count goes back with the flags. The state
            // word is a DWORD: u64 in pcsclite, u32 on Windows, where `into` is the identity.
            #[allow(clippy::useless_conversion)]
            let count = State::from_bits_retain((state.event_count() << 16).into());
            entry.set_event(state.event_state() | count, state.atr());
        }
        Ok(())
    }
}

/// A card is usable when present and answering (a MUTE card gave no ATR).
pub(crate) fn card_present(state: State) -> bool {
    state.contains(State::PRESENT) && !state.contains(State::MUTE)
}

/// A connected card.
pub struct PcscCard {
    /// Always `Some` until dropped; an `Option` so `Drop` can disconnect by value.
    card: Option<pcsc::Card>,
    ctx: Context,
    reader: CString,
}

impl PcscCard {
    pub fn reader(&self) -> String {
        self.reader.to_string_lossy().into_owned()
    }

    /// Runs `op` inside one PC/SC transaction and returns its result with the APDU count.
    ///
    /// When the card was reset by someone else, the handle is reconnected; `op` is run again
    /// once if `idempotent` (reads), otherwise [`CardError::CardReset`] is returned (a VERIFY
    /// interrupted by a reset may or may not have cost a try: the caller must ask again).
    pub fn transaction<R>(
        &mut self,
        idempotent: bool,
        mut op: impl FnMut(&mut Channel<&mut dyn Transmit>) -> Result<R, CardError>,
    ) -> Result<(R, u32), CardError> {
        let mut apdus = 0;
        for attempt in 0..2 {
            match self.run_once(&mut op) {
                Ok((r, n)) => return Ok((r, apdus + n)),
                Err((CardError::CardReset, n)) if attempt == 0 => {
                    apdus += n;
                    tracing::info!(reader = ?self.reader, "card reset by another program; reconnecting");
                    self.reconnect()?;
                    if !idempotent {
                        return Err(CardError::CardReset);
                    }
                }
                Err((e, _)) => return Err(e),
            }
        }
        Err(CardError::CardReset)
    }

    fn run_once<R>(
        &mut self,
        op: &mut impl FnMut(&mut Channel<&mut dyn Transmit>) -> Result<R, CardError>,
    ) -> Result<(R, u32), (CardError, u32)> {
        let card = self.card.as_mut().ok_or((CardError::CardRemoved, 0))?;
        let tx = card
            .transaction()
            .map_err(|e| (transmit_error(&self.ctx, &self.reader, e), 0))?;
        let mut transport = TxTransport {
            tx: &tx,
            ctx: &self.ctx,
            reader: &self.reader,
        };
        let mut channel = Channel::new(&mut transport as &mut dyn Transmit);
        let result = op(&mut channel);
        let n = channel.apdu_count();
        // Ending the transaction can fail if the card just left; the result already says so.
        if let Err((_, e)) = tx.end(Disposition::LeaveCard) {
            tracing::debug!(error = %e, "end transaction");
        }
        result.map(|r| (r, n)).map_err(|e| (e, n))
    }

    /// Resets the card (SCardReconnect with reset). A verified PIN is forgotten by the card,
    /// so the desk can close a patient's session for sure; other programs sharing the card
    /// see `ResetCard` on their next call.
    pub fn reset(&mut self) -> Result<(), CardError> {
        let card = self.card.as_mut().ok_or(CardError::CardRemoved)?;
        card.reconnect(ShareMode::Shared, Protocols::ANY, Disposition::ResetCard)
            .map_err(|e| transmit_error(&self.ctx, &self.reader, e))
    }

    fn reconnect(&mut self) -> Result<(), CardError> {
        let card = self.card.as_mut().ok_or(CardError::CardRemoved)?;
        card.reconnect(ShareMode::Shared, Protocols::ANY, Disposition::LeaveCard)
            .map_err(|e| transmit_error(&self.ctx, &self.reader, e))
    }
}

impl Drop for PcscCard {
    fn drop(&mut self) {
        if let Some(card) = self.card.take() {
            if let Err((_, e)) = card.disconnect(Disposition::LeaveCard) {
                tracing::debug!(error = %e, "disconnect");
            }
        }
    }
}

struct TxTransport<'a, 'tx> {
    tx: &'a pcsc::Transaction<'tx>,
    ctx: &'a Context,
    reader: &'a CStr,
}

impl Transmit for TxTransport<'_, '_> {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, CardError> {
        let mut buf = vec![0u8; RESPONSE_BUFFER];
        match self.tx.transmit(command, &mut buf) {
            // vpcd (and some real drivers) report a card that vanished mid-command as a
            // "successful" transmit with no bytes at all: only the reader state tells.
            Ok(r) if r.len() < 2 && !card_still_there(self.ctx, self.reader, REMOVAL_SETTLE) => {
                Err(CardError::CardRemoved)
            }
            Ok(r) => Ok(r.to_vec()),
            Err(e) => Err(transmit_error(self.ctx, self.reader, e)),
        }
    }
}

/// Asks pcscd whether a card is still on `reader`, waiting up to `settle` for a removal to
/// show: a driver notices a vanished card on its next presence poll, a moment after the
/// transmit that failed. When pcscd cannot say, assume the card is there (the caller then
/// reports the raw failure rather than guessing "removed").
fn card_still_there(ctx: &Context, reader: &CStr, settle: Duration) -> bool {
    let mut state = [ReaderState::new(reader.to_owned(), State::UNAWARE)];
    if ctx.get_status_change(Duration::ZERO, &mut state).is_err() {
        return true;
    }
    if !card_present(state[0].event_state()) {
        return false;
    }
    state[0].sync_current_state();
    match ctx.get_status_change(settle, &mut state) {
        Ok(()) => card_present(state[0].event_state()),
        Err(_) => true,
    }
}

/// How long a failed or empty transmit waits for pcscd to confirm a removal.
const REMOVAL_SETTLE: Duration = Duration::from_millis(1500);

/// A transmit failure: when the card is gone, say so plainly whatever error the driver chose
/// (vpcd and real readers report a card sliding off the antenna in different ways).
fn transmit_error(ctx: &Context, reader: &CStr, e: pcsc::Error) -> CardError {
    session_error(e, || card_still_there(ctx, reader, REMOVAL_SETTLE))
}

/// [`transmit_error`] without the reader: `still_there` is only asked about a transport
/// failure. A service that stopped mid-session (`SERVICE_STOPPED`, `INVALID_HANDLE` after a
/// restart) is [`CardError::ServiceUnavailable`] at once: its dead context cannot be asked.
fn session_error(e: pcsc::Error, still_there: impl FnOnce() -> bool) -> CardError {
    let mapped = map_error(e);
    if matches!(mapped, CardError::Transport(_)) && !still_there() {
        tracing::debug!(error = %e, "transmit failed and the card is gone");
        return CardError::CardRemoved;
    }
    mapped
}

/// The one mapping from PC/SC errors to card errors.
pub fn map_error(e: pcsc::Error) -> CardError {
    use pcsc::Error as E;
    match e {
        E::NoReadersAvailable => CardError::NoReader,
        E::NoService | E::ServiceStopped | E::InvalidHandle => {
            CardError::ServiceUnavailable(e.to_string())
        }
        E::RemovedCard | E::NoSmartcard => CardError::CardRemoved,
        E::ResetCard => CardError::CardReset,
        E::UnknownReader | E::ReaderUnavailable => CardError::ReaderNotFound(e.to_string()),
        E::Cancelled => CardError::Cancelled,
        E::Timeout => CardError::NoCard,
        other => CardError::Transport(format!("{other:?}: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pcsc_errors_map_to_desk_errors() {
        assert_eq!(
            map_error(pcsc::Error::NoService).kind(),
            "service_unavailable"
        );
        assert_eq!(
            map_error(pcsc::Error::ServiceStopped).kind(),
            "service_unavailable"
        );
        assert_eq!(
            map_error(pcsc::Error::NoReadersAvailable),
            CardError::NoReader
        );
        assert_eq!(map_error(pcsc::Error::RemovedCard), CardError::CardRemoved);
        assert_eq!(map_error(pcsc::Error::ResetCard), CardError::CardReset);
        assert_eq!(map_error(pcsc::Error::Cancelled), CardError::Cancelled);
        assert_eq!(map_error(pcsc::Error::CommError).kind(), "transport");
        assert_eq!(
            map_error(pcsc::Error::InvalidHandle).kind(),
            "service_unavailable"
        );
    }

    /// Windows: SCardSvr stops when the last reader leaves (`SERVICE_STOPPED` on a session
    /// still open) and a session from before a restart is `INVALID_HANDLE`.
    #[test]
    fn a_session_meeting_a_stopped_service_is_service_unavailable_without_asking_the_reader() {
        for e in [
            pcsc::Error::ServiceStopped,
            pcsc::Error::InvalidHandle,
            pcsc::Error::NoService,
        ] {
            let asked = std::cell::Cell::new(false);
            let mapped = session_error(e, || {
                asked.set(true);
                false
            });
            assert!(
                matches!(mapped, CardError::ServiceUnavailable(_)),
                "{e:?}: {mapped:?}"
            );
            assert!(
                !asked.get(),
                "{e:?}: the dead context was asked about the card"
            );
            assert_eq!(connect_error(e, "R1").kind(), "service_unavailable");
        }
        // A transport failure is a removal only when the card is gone.
        assert_eq!(
            session_error(pcsc::Error::CommError, || false),
            CardError::CardRemoved
        );
        assert_eq!(
            session_error(pcsc::Error::CommError, || true).kind(),
            "transport"
        );
        assert_eq!(
            connect_error(pcsc::Error::NoSmartcard, "R1"),
            CardError::NoCard
        );
    }

    #[test]
    fn listing_no_readers_is_an_empty_list_and_dead_contexts_are_told() {
        assert_eq!(
            readers_or_none(Err(pcsc::Error::NoReadersAvailable)),
            Ok(Vec::new())
        );
        assert_eq!(
            readers_or_none(Err(pcsc::Error::NoService)),
            Err(pcsc::Error::NoService)
        );
        for e in [
            pcsc::Error::NoService,
            pcsc::Error::ServiceStopped,
            pcsc::Error::InvalidHandle,
            pcsc::Error::CommError,
        ] {
            assert!(context_is_dead(e), "{e:?}");
        }
        for e in [
            pcsc::Error::Timeout,
            pcsc::Error::UnknownReader,
            pcsc::Error::NoReadersAvailable,
        ] {
            assert!(!context_is_dead(e), "{e:?}");
        }
    }

    #[test]
    fn a_mute_card_is_not_present() {
        assert!(card_present(State::PRESENT));
        assert!(!card_present(State::PRESENT | State::MUTE));
        assert!(!card_present(State::EMPTY));
    }
}
