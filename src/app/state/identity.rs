//! The identity screen (本人確認): the PIN keypad, the last-try warning, visual check behind
//! the facility passcode; drawn by `screens::identity`.

use super::{Action, Desk, Digits, PasscodeOutcome, Screen};
use crate::card::{CardError, PinStatus};
use crate::check::CardRead;
use crate::domain::expiry::CertificateExpiry;

/// How the patient's identity is being confirmed on the identity screen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IdentityMode {
    /// The patient types the PIN on the keypad.
    Pin { entered: Digits },
    /// One try left: the keypad stays closed until the patient chooses to use the last try.
    LastTryWarning,
    /// The PIN is blocked or the card has none (顔認証マイナンバーカード): visual check only.
    PinUnavailable,
    /// Staff type the facility passcode to enter visual-check mode.
    Passcode { entered: Digits, refused: bool },
    /// Staff compare the patient with the card's photo, then confirm.
    VisualCheck,
    /// The certificate expired beyond its grace: the service cannot confirm by this card, so
    /// no PIN is asked for; said at once with the next step (the numbers of a 資格確認書, or
    /// the claim path). The rule is `CertificateExpiry::on` (`domain::expiry`).
    CertificateExpired,
}

/// The identity screen: the card is read, identity is not yet confirmed.
#[derive(Clone, Debug)]
pub struct IdentityScreen {
    pub read: CardRead,
    pub pin: Option<PinStatus>,
    pub mode: IdentityMode,
    /// Shown above the keypad (a refused PIN, …).
    pub notice: Option<String>,
}

impl Desk {
    pub(super) fn identity_screen(&mut self, read: CardRead, pin: Result<PinStatus, CardError>) {
        let (pin, mode, notice) = match pin {
            // Before any PIN: a try spent on a check that cannot succeed helps nobody.
            _ if matches!(read.expiry, CertificateExpiry::Expired { .. }) => {
                (pin.ok(), IdentityMode::CertificateExpired, None)
            }
            Ok(PinStatus::Remaining(1)) => (
                Some(PinStatus::Remaining(1)),
                IdentityMode::LastTryWarning,
                None,
            ),
            Ok(PinStatus::Remaining(n)) => (
                Some(PinStatus::Remaining(n)),
                IdentityMode::Pin {
                    entered: Digits::default(),
                },
                None,
            ),
            Ok(PinStatus::Blocked) => {
                (Some(PinStatus::Blocked), IdentityMode::PinUnavailable, None)
            }
            // The counter could not be read: the PIN is still possible, the card decides.
            // The error's kind goes to the log, not on the patient's screen.
            Err(e) => {
                tracing::warn!(kind = e.kind(), error = %e, "PIN counter not readable");
                (
                    None,
                    IdentityMode::Pin {
                        entered: Digits::default(),
                    },
                    Some("暗証番号の残り回数を確認できませんでした。".to_owned()),
                )
            }
        };
        // A new card: its PIN is typed where the desk is set up to take it.
        self.keypad_here = false;
        self.screen = Screen::Identity(Box::new(IdentityScreen {
            read,
            pin,
            mode,
            notice,
        }));
    }

    /// A PIN refused by the card goes back to the keypad; anything else is a problem screen.
    pub(super) fn pin_refused(&mut self, read: CardRead, e: CardError) {
        match e {
            CardError::PinWrong { retries_left } => {
                let mode = if retries_left <= 1 {
                    IdentityMode::LastTryWarning
                } else {
                    IdentityMode::Pin {
                        entered: Digits::default(),
                    }
                };
                self.screen = Screen::Identity(Box::new(IdentityScreen {
                    read,
                    pin: Some(PinStatus::Remaining(retries_left)),
                    mode,
                    notice: Some(format!(
                        "暗証番号が違います。あと{retries_left}回間違えるとロックされます。"
                    )),
                }));
            }
            CardError::PinBlocked => {
                self.screen = Screen::Identity(Box::new(IdentityScreen {
                    read,
                    pin: Some(PinStatus::Blocked),
                    mode: IdentityMode::PinUnavailable,
                    notice: Some("暗証番号がロックされました。".into()),
                }));
            }
            other => self.card_problem(&other),
        }
    }

    pub(super) fn identity_action(&mut self, action: Action) {
        let Screen::Identity(screen) = &mut self.screen else {
            return;
        };
        match (&mut screen.mode, action) {
            (
                IdentityMode::Pin { entered } | IdentityMode::Passcode { entered, .. },
                Action::KeypadDigit(d),
            ) => entered.push(d),
            (
                IdentityMode::Pin { entered } | IdentityMode::Passcode { entered, .. },
                Action::KeypadBackspace,
            ) => entered.backspace(),
            (
                IdentityMode::Pin { entered } | IdentityMode::Passcode { entered, .. },
                Action::KeypadClear,
            ) => entered.clear(),
            (IdentityMode::Pin { .. } | IdentityMode::LastTryWarning, Action::PinKeypadHere) => {
                self.keypad_here = true;
            }
            (IdentityMode::LastTryWarning, Action::UseLastTry) => {
                screen.mode = IdentityMode::Pin {
                    entered: Digits::default(),
                };
            }
            (IdentityMode::Pin { entered }, Action::SubmitPin) if entered.is_complete() => {
                let pin = std::mem::take(entered);
                let read = Box::new(screen.read.clone());
                self.query_by_card(read, Some(pin));
            }
            (_, Action::StartVisualCheck) => {
                screen.mode = IdentityMode::Passcode {
                    entered: Digits::default(),
                    refused: false,
                };
            }
            (IdentityMode::Passcode { entered, refused }, Action::SubmitPasscode)
                if entered.is_complete() =>
            {
                let now = self.clock.now();
                let typed = entered.reveal();
                match self
                    .passcode_guard
                    .judge(now, || self.passcode.matches(typed))
                {
                    PasscodeOutcome::Right => screen.mode = IdentityMode::VisualCheck,
                    PasscodeOutcome::Wrong => {
                        entered.clear();
                        *refused = true;
                    }
                    PasscodeOutcome::Wait(_) => entered.clear(),
                }
            }
            (IdentityMode::VisualCheck, Action::ConfirmVisual) => {
                let read = Box::new(screen.read.clone());
                self.query_by_card(read, None);
            }
            _ => {}
        }
    }
}
