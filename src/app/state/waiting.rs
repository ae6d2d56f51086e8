//! The waiting screen (待機) and the readers: which readers there are, a card placed starts a
//! read, a card or reader gone mid-flow is said; drawn by `screens::idle`.

use super::{Desk, Request, Screen, ScreenProblem};
use crate::card::{ReaderEvent, ReaderInfo};

impl Desk {
    pub(super) fn read_card(&mut self, reader: String) {
        let job = self.job();
        self.outbox.push(Request::ReadCard {
            job,
            reader: reader.clone(),
            on: self.today(),
        });
        // A card placed while a result is shown belongs to the next patient: the result is
        // closed, and the reading screen says so.
        let next_patient = matches!(self.screen, Screen::Result(_));
        // The previous patient's result closes unsettled: recorded as left unfinished (中断).
        if let Screen::Result(r) = &self.screen {
            if !r.settled() {
                let id = r.recorded.clone().ok();
                self.abandon_recorded(id);
            }
        }
        self.card_reader = Some(reader.clone());
        self.waiting_card = None;
        self.screen = Screen::Reading {
            job,
            reader,
            next_patient,
        };
    }

    /// The reader the current patient's card is on, while the flow needs the card.
    pub(super) fn reader_in_use(&self) -> Option<&str> {
        match &self.screen {
            Screen::Reading { reader, .. } => Some(reader),
            Screen::Identity(s) => Some(&s.read.reader),
            _ => None,
        }
    }

    /// Every reader of every source.
    pub fn readers(&self) -> Vec<&ReaderInfo> {
        self.sources
            .values()
            .filter_map(|s| s.as_ref().ok())
            .flatten()
            .collect()
    }

    /// Why a reader source cannot be reached (pcscd stopped), if one cannot.
    pub fn service_error(&self) -> Option<&str> {
        self.sources
            .values()
            .find_map(|s| s.as_ref().err())
            .map(String::as_str)
    }

    /// Reader lists come with each source's snapshot; events only move the flow.
    pub(super) fn reader_event(&mut self, event: ReaderEvent) {
        match &event {
            ReaderEvent::CardInserted { reader } => {
                // A card placed while the desk waits starts a check; elsewhere it waits its turn.
                let preferred = self
                    .preferred_reader
                    .as_deref()
                    .is_none_or(|p| reader.starts_with(p));
                // On a problem screen the next card is the way forward: no tap needed. On a
                // result it is the next patient's card: never one patient's card with another's
                // result. Elsewhere (a claim path, the history) it waits for the desk's return.
                let free = matches!(
                    self.screen,
                    Screen::Idle | Screen::Problem(_) | Screen::Result(_)
                );
                if preferred && free {
                    self.read_card(reader.clone());
                } else if preferred {
                    self.waiting_card = Some(reader.clone());
                }
            }
            ReaderEvent::CardRemoved { reader } => {
                if self.waiting_card.as_ref() == Some(reader) {
                    self.waiting_card = None;
                }
                if self.card_reader.as_ref() == Some(reader) {
                    self.card_reader = None;
                }
                if self.reader_in_use() == Some(reader) {
                    self.problem(ScreenProblem {
                        title: "カードが取り外されました".into(),
                        message: "確認の途中でカードがリーダーから離れました。もう一度カードを置いてください。".into(),
                        detail: format!("card removed from {reader} during the flow"),
                    });
                }
            }
            ReaderEvent::ReaderAdded(_) | ReaderEvent::ServiceRestored => {}
            ReaderEvent::ReaderRemoved(name) => {
                if self.card_reader.as_ref() == Some(name) {
                    self.card_reader = None;
                }
                if self.waiting_card.as_ref() == Some(name) {
                    self.waiting_card = None;
                }
                if self.reader_in_use() == Some(name) {
                    self.problem(ScreenProblem {
                        title: "カードリーダーが外れました".into(),
                        message:
                            "カードリーダーの接続を確認してください。つながると自動的に戻ります。"
                                .into(),
                        detail: format!("reader {name} removed during the flow"),
                    });
                }
            }
            // A lost pcscd first reports each of its readers and cards gone (handled above,
            // for the reader in use); the service itself says nothing about other sources'
            // readers, such as the demo reader, so it never interrupts their flow.
            ReaderEvent::ServiceLost(why) => {
                tracing::warn!(%why, "reader service lost");
            }
        }
    }
}
