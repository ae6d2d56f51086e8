//! Everything that can go wrong between the reader and the card, as typed errors.
//!
//! Each error has two faces: `Display` is the precise English text for logs, and
//! [`CardError::desk_message`] is the calm Japanese sentence the reception desk shows. The
//! `kind` is a stable snake_case name for JSON output and tests.

use super::apdu::StatusWord;

/// What the desk calls the PC/SC service: pcscd on Linux, the Smart Card service (SCardSvr)
/// on Windows.
pub const SERVICE_NAME: &str = if cfg!(windows) {
    "スマートカード サービス"
} else {
    "pcscd"
};

/// The desk's words for a PC/SC service that does not answer. On Windows the service stops
/// when the last reader is unplugged and starts when one is plugged in, so plugging the reader
/// in again comes first there; pcscd does not stop for want of readers.
fn service_unavailable_message(windows: bool) -> String {
    if windows {
        "カードリーダーのサービス(スマートカード サービス)が動いていません。カードリーダーをいったん抜いて、差し直してください。続く場合は端末を再起動するか、システム担当者に連絡してください。".into()
    } else {
        "カードリーダーのサービス(pcscd)が動いていません。端末を再起動するか、システム担当者に連絡してください。".into()
    }
}

/// A card-layer failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CardError {
    /// The PC/SC service (pcscd, Windows' SCardSvr) is not running or could not be reached,
    /// or stopped under an open context or card session (`SERVICE_STOPPED`, `INVALID_HANDLE`
    /// after a restart).
    #[error("PC/SC service unavailable: {0}")]
    ServiceUnavailable(String),
    /// No reader is connected at all.
    #[error("no card reader connected")]
    NoReader,
    /// The reader named in the configuration or on the command line is not connected.
    #[error("reader not found: {0}")]
    ReaderNotFound(String),
    /// No card on the reader (or none arrived within the wait).
    #[error("no card on the reader")]
    NoCard,
    /// The card answered, but the JPKI application is not on it.
    #[error("not a My Number card: SELECT JPKI AP answered {0}")]
    NotMyNumberCard(StatusWord),
    /// The card left the reader in the middle of a command sequence.
    #[error("card removed during the operation")]
    CardRemoved,
    /// Another program reset the card; any PIN state on it is gone.
    #[error("card was reset during the operation")]
    CardReset,
    /// The PIN was refused; `retries_left` tries remain (1 or 2).
    #[error("PIN refused, {retries_left} tries left")]
    PinWrong { retries_left: u8 },
    /// The PIN is blocked (3 failures), or the card has no PIN (face-auth card).
    #[error("PIN blocked or not set on this card")]
    PinBlocked,
    /// The PIN typed is not 4 digits; the card never saw it.
    #[error("PIN format: {0}")]
    PinFormat(String),
    /// An operation needed a verified PIN first (a programming error or a reset in between).
    #[error("security status not satisfied (PIN not verified) for {0}")]
    PinRequired(&'static str),
    /// The certificate on the card is not a readable X.509 certificate.
    #[error("malformed certificate: {0}")]
    MalformedCertificate(String),
    /// A card-info (券面事項入力補助) record that does not parse.
    #[error("malformed card-info record: {0}")]
    MalformedCardInfo(String),
    /// A status word the operation did not expect.
    #[error("{operation}: unexpected status {sw}")]
    UnexpectedStatus {
        operation: &'static str,
        sw: StatusWord,
    },
    /// The card (or the reader driver) stopped answering within the time allowed.
    #[error("card did not answer within {0:?}")]
    Unresponsive(std::time::Duration),
    /// The wait for a card was cancelled by the application.
    #[error("cancelled")]
    Cancelled,
    /// Any other PC/SC failure, kept verbatim for the log.
    #[error("PC/SC error: {0}")]
    Transport(String),
}

impl CardError {
    /// A stable machine-readable name (JSON `error.kind`).
    pub fn kind(&self) -> &'static str {
        match self {
            CardError::ServiceUnavailable(_) => "service_unavailable",
            CardError::NoReader => "no_reader",
            CardError::ReaderNotFound(_) => "reader_not_found",
            CardError::NoCard => "no_card",
            CardError::NotMyNumberCard(_) => "not_my_number_card",
            CardError::CardRemoved => "card_removed",
            CardError::CardReset => "card_reset",
            CardError::PinWrong { .. } => "pin_wrong",
            CardError::PinBlocked => "pin_blocked",
            CardError::PinFormat(_) => "pin_format",
            CardError::PinRequired(_) => "pin_required",
            CardError::MalformedCertificate(_) => "malformed_certificate",
            CardError::MalformedCardInfo(_) => "malformed_card_info",
            CardError::UnexpectedStatus { .. } => "unexpected_status",
            CardError::Unresponsive(_) => "card_unresponsive",
            CardError::Cancelled => "cancelled",
            CardError::Transport(_) => "transport",
        }
    }

    /// What the desk shows: what happened and what to do next, in Japanese.
    pub fn desk_message(&self) -> String {
        match self {
            CardError::ServiceUnavailable(_) => service_unavailable_message(cfg!(windows)),
            CardError::NoReader => {
                "カードリーダーが接続されていません。USBケーブルを確認してください。".into()
            }
            CardError::ReaderNotFound(name) => {
                format!("設定されたカードリーダー「{name}」が見つかりません。接続と設定を確認してください。")
            }
            CardError::NoCard => "カードリーダーにカードが置かれていません。".into(),
            CardError::NotMyNumberCard(_) => {
                "マイナンバーカードではないカードです。マイナ保険証(マイナンバーカード)を置いてください。".into()
            }
            CardError::CardRemoved => {
                "読み取り中にカードが離れました。もう一度カードを置いてください。".into()
            }
            CardError::CardReset => {
                "カードの読み取りが中断されました。もう一度カードを置いてください。".into()
            }
            CardError::PinWrong { retries_left: 1 } => {
                "暗証番号が違います。残り1回です。次に間違えるとロックされるため、職員にお声がけください(目視確認に切り替えられます)。".into()
            }
            CardError::PinWrong { retries_left } => {
                format!("暗証番号が違います。残り{retries_left}回です。")
            }
            CardError::PinBlocked => {
                "暗証番号がロックされています(または設定されていないカードです)。職員による目視確認で受付できます。ロック解除はお住まいの市区町村の窓口で行えます。".into()
            }
            CardError::PinFormat(_) => "暗証番号は数字4桁で入力してください。".into(),
            CardError::PinRequired(_) => {
                "暗証番号の確認が必要です。もう一度最初からお願いします。".into()
            }
            CardError::MalformedCertificate(_) => {
                "カードの電子証明書を読み取れませんでした。カードを置き直してください。続く場合は資格確認書などで確認します。".into()
            }
            CardError::MalformedCardInfo(_) => {
                "カードの券面情報を読み取れませんでした。氏名等は手入力してください。".into()
            }
            CardError::UnexpectedStatus { .. } | CardError::Transport(_) => {
                "カードの読み取りに失敗しました。カードを置き直してください。続く場合は職員にお声がけください。".into()
            }
            CardError::Unresponsive(_) => {
                "カードが応答しません。カードをいったん離して、置き直してください。".into()
            }
            CardError::Cancelled => "読み取りを取り消しました。".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_has_a_japanese_message_and_a_kind() {
        let all = [
            CardError::ServiceUnavailable("x".into()),
            CardError::NoReader,
            CardError::ReaderNotFound("R".into()),
            CardError::NoCard,
            CardError::NotMyNumberCard(StatusWord(0x6A, 0x82)),
            CardError::CardRemoved,
            CardError::CardReset,
            CardError::PinWrong { retries_left: 2 },
            CardError::PinWrong { retries_left: 1 },
            CardError::PinBlocked,
            CardError::PinFormat("x".into()),
            CardError::PinRequired("sign"),
            CardError::MalformedCertificate("x".into()),
            CardError::MalformedCardInfo("x".into()),
            CardError::UnexpectedStatus {
                operation: "x",
                sw: StatusWord(0x6F, 0),
            },
            CardError::Unresponsive(std::time::Duration::from_secs(1)),
            CardError::Cancelled,
            CardError::Transport("x".into()),
        ];
        for e in all {
            let m = e.desk_message();
            assert!(
                m.chars().any(|c| ('\u{3040}'..='\u{30FF}').contains(&c)),
                "{m}"
            );
            assert!(!e.kind().is_empty());
        }
    }

    #[test]
    fn a_service_that_stopped_is_told_in_each_platforms_words() {
        let linux = service_unavailable_message(false);
        assert!(
            linux.contains("pcscd") && linux.contains("再起動"),
            "{linux}"
        );
        let windows = service_unavailable_message(true);
        assert!(
            windows.contains("スマートカード サービス") && windows.contains("差し直して"),
            "{windows}"
        );
        assert!(!windows.contains("pcscd"), "{windows}");
        let shown = CardError::ServiceUnavailable("x".into()).desk_message();
        assert!(shown.contains(SERVICE_NAME), "{shown}");
    }

    #[test]
    fn one_try_left_sends_the_patient_to_staff() {
        let m = CardError::PinWrong { retries_left: 1 }.desk_message();
        assert!(m.contains("残り1回") && m.contains("職員"), "{m}");
    }
}
