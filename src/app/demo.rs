//! Demo mode (`onshi-desk --demo`): the whole desk with no hardware and no setup.
//!
//! The mock online-qualification service runs in-process on loopback, over the same mutual TLS
//! as the real one, with the project's test PKI (generated on first use and cached per day,
//! since persona certificates expire relative to the date). Virtual My Number cards — one per
//! outcome — sit on a demo reader that the clerk "places" by tapping; the card answers the
//! same APDUs through the same card layer as a real card does over PC/SC. A real reader, when
//! pcscd has one, keeps working beside it.

// The closures handed to `with_channel` look redundant, but a bare generic fn cannot satisfy
// its higher-ranked lifetime (as in `crate::card`).
#![allow(clippy::redundant_closure)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use onshi_mock::endpoint::{self, RunningServer, ServerConfig, ServerFiles};
use onshi_mock::{Persona, VirtualCard};
use time::Date;

use super::backend::{PcscAccess, ReaderSource};
use crate::card::{
    jpki, CardAccess, CardError, CertificateRead, Channel, Pin, PinStatus, ReaderEvent, ReaderInfo,
    Transmit,
};
use crate::config::Config;

/// The demo reader's name, as the reader list shows it.
pub const DEMO_READER: &str = "デモ用カードリーダー (仮想)";

/// The facility name demo mode prints on the self-declaration.
pub const DEMO_FACILITY_NAME: &str = "オンシ・デモ診療所";

/// The facility passcode of demo mode (目視確認モードに入るための施設パスコード).
pub const DEMO_PASSCODE: &str = "0000";

/// One card of the demo panel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoCard {
    /// Persona id (`None`: a card that is not a My Number card).
    pub persona: Option<&'static str>,
    /// What the clerk sees on the button.
    pub label: &'static str,
    /// The outcome, in a few words.
    pub outcome: &'static str,
}

/// The panel, one card per outcome the desk must handle.
pub const DEMO_CARDS: &[DemoCard] = &[
    DemoCard {
        persona: Some("valid"),
        label: "山田 花子",
        outcome: "有効 (協会けんぽ 3割・限度額)",
    },
    DemoCard {
        persona: Some("top-bit-serial"),
        label: "後期高齢者",
        outcome: "有効 (後期高齢者 1割)",
    },
    DemoCard {
        persona: Some("elderly"),
        label: "高齢受給者",
        outcome: "有効 (国保 72歳 2割)",
    },
    DemoCard {
        persona: Some("expiring-soon"),
        label: "証明書期限間近",
        outcome: "有効 (証明書の更新案内)",
    },
    DemoCard {
        persona: Some("expired-grace"),
        label: "証明書期限切れ(猶予中)",
        outcome: "資格情報のみ",
    },
    DemoCard {
        persona: Some("expired"),
        label: "証明書期限切れ",
        outcome: "オンライン確認不可",
    },
    DemoCard {
        persona: Some("small-cert"),
        label: "資格喪失",
        outcome: "無効 (旧資格で請求)",
    },
    DemoCard {
        persona: Some("pin-one-left"),
        label: "転職後",
        outcome: "新しい資格あり・暗証番号残り1回",
    },
    DemoCard {
        persona: Some("pin-blocked"),
        label: "資格情報なし",
        outcome: "該当なし・暗証番号ロック",
    },
    DemoCard {
        persona: Some("face-auth"),
        label: "顔認証カード",
        outcome: "複数該当・暗証番号なし",
    },
    DemoCard {
        persona: Some("not-registered"),
        label: "利用登録なし",
        outcome: "保険証利用の登録なし",
    },
    DemoCard {
        persona: Some("revoked"),
        label: "証明書失効",
        outcome: "電子証明書失効",
    },
    DemoCard {
        persona: Some("system-error"),
        label: "システムエラー",
        outcome: "照会でエラー",
    },
    DemoCard {
        persona: Some("large-cert"),
        label: "外字のお名前",
        outcome: "有効 (氏名に●)",
    },
    DemoCard {
        persona: Some("pe-infant"),
        label: "こども医療証",
        outcome: "有効 (乳幼児医療費助成 0円)",
    },
    DemoCard {
        persona: Some("pe-nanbyo"),
        label: "難病受給者証",
        outcome: "有効 (難病 2割・月上限)",
    },
    DemoCard {
        persona: None,
        label: "他のICカード",
        outcome: "マイナンバーカードではない",
    },
];

/// What went wrong preparing demo mode.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("demo PKI in {0}: {1}")]
    Pki(PathBuf, String),
    #[error("demo mock service: {0}")]
    Service(String),
    #[error("demo configuration: {0}")]
    Config(String),
}

/// The running demo environment: the mock service, the desk's configuration for it, the
/// demo reader and its cards.
pub struct DemoEnv {
    pub config: Config,
    pub reader: Arc<DemoReader>,
    /// Where the demo keeps its printouts (under the demo folder).
    pub printouts: PathBuf,
    /// CUPS queue for the demo's printouts (`None`: the system default).
    pub printer: Option<String>,
    /// The program that opens a folder (`None`: the OS's file manager); tests set their own.
    pub folder_opener: Option<PathBuf>,
    /// The demo's reception journal (under the demo folder, never the real one).
    pub journal: PathBuf,
    pki: PathBuf,
    _service: RunningServer,
}

impl DemoEnv {
    /// Prepares demo mode under `dir` for `today`: reuses or generates the PKI, starts the
    /// mock service on a free loopback port, writes the desk's configuration for it.
    pub fn start(dir: &Path, today: Date) -> Result<DemoEnv, DemoError> {
        let pki = dir.join(format!("pki-v2-{today}"));
        ensure_pki(&pki, today)?;
        Self::start_with_pki(&pki, dir)
    }

    /// Like [`DemoEnv::start`] with an existing PKI (tests share theirs).
    pub fn start_with_pki(pki: &Path, dir: &Path) -> Result<DemoEnv, DemoError> {
        let files = ServerFiles::from_pki_dir(pki);
        let service = ServerConfig::load(&files)
            .and_then(endpoint::spawn)
            .map_err(|e| DemoError::Service(e.to_string()))?;
        let tls = pki.join("tls");
        // Parsed, not written: the configuration lives as long as this environment.
        let path = dir.join("demo-config.toml");
        let text = format!(
            "facility_code = \"1312345678\"\n\n[endpoint]\nurl = \"{}/\"\nca = {:?}\n\
             client_certificate = {:?}\nclient_key = {:?}\nconnect_timeout_ms = 2000\n\
             timeout_ms = 5000\n",
            service.base_url(),
            tls.join("server-ca.pem"),
            tls.join("facility.pem"),
            tls.join("facility-key.pem"),
        );
        let config = Config::parse(&text, &path).map_err(|e| DemoError::Config(e.to_string()))?;
        Ok(DemoEnv {
            config,
            reader: Arc::new(DemoReader::default()),
            printouts: dir.join("printouts"),
            printer: None,
            folder_opener: None,
            journal: dir.join("journal.sqlite3"),
            pki: pki.to_owned(),
            _service: service,
        })
    }

    /// Puts `card` on the demo reader (taking off whatever was there). A card placed before
    /// comes back as it was left — PIN tries spent stay spent, as on a real card.
    pub fn place(&self, card: &DemoCard) -> Result<(), DemoError> {
        if let Some(kept) = self.reader.take_from_pocket(card.label) {
            self.reader.place(kept, card.label);
            return Ok(());
        }
        let virtual_card = match card.persona {
            None => VirtualCard::not_jpki(),
            Some(id) => {
                let path = self.pki.join("personas").join(format!("{id}.toml"));
                let persona =
                    Persona::load(&path).map_err(|e| DemoError::Pki(path, e.to_string()))?;
                VirtualCard::new(persona, Default::default())
            }
        };
        self.reader.place(virtual_card, card.label);
        Ok(())
    }

    /// The PIN of a demo card, to show on the panel.
    pub fn pin_of(&self, card: &DemoCard) -> Option<String> {
        let path = self
            .pki
            .join("personas")
            .join(format!("{}.toml", card.persona?));
        Persona::load(path).ok()?.pin().map(str::to_owned)
    }
}

/// Generates the PKI into `dir` unless a complete one is there. RSA key generation takes a
/// few seconds, which is why the result is kept (per day: persona expiry is date-relative).
fn ensure_pki(dir: &Path, today: Date) -> Result<(), DemoError> {
    let done = dir.join(".complete");
    if done.exists() {
        return Ok(());
    }
    let fail = |e: String| DemoError::Pki(dir.to_owned(), e);
    let _ = std::fs::remove_dir_all(dir);
    onshi_mock::pki::generate_jpki(dir, today).map_err(|e| fail(e.to_string()))?;
    onshi_mock::pki::tls::generate(dir, today).map_err(|e| fail(e.to_string()))?;
    std::fs::write(&done, b"").map_err(|e| fail(e.to_string()))
}

/// The default folder for demo files: the platform cache dir.
pub fn default_dir() -> PathBuf {
    dirs::cache_dir()
        .unwrap_or_else(std::env::temp_dir)
        .join("onshi-desk")
        .join("demo")
}

#[derive(Default)]
struct Slot {
    card: Option<VirtualCard>,
    label: Option<&'static str>,
    /// Bumped on every placement or removal, so a watcher sees a quick swap too.
    generation: u64,
    /// The card slides off the antenna at its next command (see [`DemoReader::slide_off_at_next_command`]).
    slide_off: bool,
}

/// The demo reader: one slot, a card placed or taken by the panel, and the cards taken off
/// so far (the patients' pockets), which keep their state.
#[derive(Default)]
pub struct DemoReader {
    slot: Mutex<Slot>,
    changed: Condvar,
    pocket: Mutex<Vec<(&'static str, VirtualCard)>>,
}

impl DemoReader {
    fn lock(&self) -> MutexGuard<'_, Slot> {
        // A worker that panicked mid-APDU leaves a usable slot: the card state is plain data.
        self.slot.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn place(&self, mut card: VirtualCard, label: &'static str) {
        card.power_on();
        let mut slot = self.lock();
        Self::take_off(&mut slot, &self.pocket);
        slot.card = Some(card);
        slot.label = Some(label);
        slot.generation += 1;
        self.changed.notify_all();
    }

    pub fn remove(&self) {
        let mut slot = self.lock();
        if Self::take_off(&mut slot, &self.pocket) {
            slot.generation += 1;
            self.changed.notify_all();
        }
    }

    /// Moves the card in the slot to the pocket; `true` if there was one.
    fn take_off(slot: &mut Slot, pocket: &Mutex<Vec<(&'static str, VirtualCard)>>) -> bool {
        let (Some(mut card), Some(label)) = (slot.card.take(), slot.label.take()) else {
            return false;
        };
        card.power_off();
        let mut pocket = pocket.lock().unwrap_or_else(|p| p.into_inner());
        pocket.retain(|(l, _)| *l != label);
        pocket.push((label, card));
        true
    }

    fn take_from_pocket(&self, label: &str) -> Option<VirtualCard> {
        let mut pocket = self.pocket.lock().unwrap_or_else(|p| p.into_inner());
        let i = pocket.iter().position(|(l, _)| *l == label)?;
        Some(pocket.swap_remove(i).1)
    }

    /// Forgets the cards taken off so far: each is placed fresh next time (PIN tries back
    /// to 3), for a demo started over. The card on the reader keeps its state until taken.
    pub fn forget_pocket(&self) {
        self.pocket
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    /// Makes the card slide off the reader in the middle of its next command, as a
    /// contactless card does when the patient lifts it too early: the command fails with a
    /// removal and the reader reports the card gone.
    pub fn slide_off_at_next_command(&self) {
        self.lock().slide_off = true;
    }

    /// The label of the card on the reader.
    pub fn current(&self) -> Option<&'static str> {
        self.lock().label
    }

    fn with_channel<R>(
        &self,
        op: impl FnOnce(&mut Channel<DemoTransport<'_>>) -> Result<R, CardError>,
    ) -> Result<(R, u32), CardError> {
        let generation = self.lock().generation;
        if self.lock().card.is_none() {
            return Err(CardError::NoCard);
        }
        let mut channel = Channel::new(DemoTransport {
            reader: self,
            generation,
        });
        let r = op(&mut channel)?;
        Ok((r, channel.apdu_count()))
    }
}

/// One APDU at a time to the card in the slot; a card swapped or taken since the operation
/// started is a removal, as on a real reader.
struct DemoTransport<'a> {
    reader: &'a DemoReader,
    generation: u64,
}

impl Transmit for DemoTransport<'_> {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, CardError> {
        let mut slot = self.reader.lock();
        if slot.generation != self.generation {
            return Err(CardError::CardRemoved);
        }
        if std::mem::take(&mut slot.slide_off)
            && DemoReader::take_off(&mut slot, &self.reader.pocket)
        {
            slot.generation += 1;
            self.reader.changed.notify_all();
            return Err(CardError::CardRemoved);
        }
        match slot.card.as_mut() {
            Some(card) => Ok(card.process(command)),
            None => Err(CardError::CardRemoved),
        }
    }
}

/// Card access for demo mode: the demo reader by name, everything else through pcscd.
pub struct DemoAccess {
    pub demo: Arc<DemoReader>,
}

impl CardAccess for DemoAccess {
    fn read_certificate(&self, reader: &str) -> Result<CertificateRead, CardError> {
        if reader != DEMO_READER {
            return PcscAccess.read_certificate(reader);
        }
        let start = Instant::now();
        let (certificate, apdu_count) = self
            .demo
            .with_channel(|ch| jpki::read_auth_certificate(ch))?;
        Ok(CertificateRead {
            reader: reader.to_owned(),
            certificate,
            apdu_count,
            elapsed: start.elapsed(),
        })
    }

    fn pin_status(&self, reader: &str) -> Result<PinStatus, CardError> {
        if reader != DEMO_READER {
            return PcscAccess.pin_status(reader);
        }
        Ok(self.demo.with_channel(|ch| jpki::pin_status(ch))?.0)
    }

    fn verify_and_sign(
        &self,
        reader: &str,
        pin: &Pin,
        sha256: &[u8; 32],
    ) -> Result<Vec<u8>, CardError> {
        if reader != DEMO_READER {
            return PcscAccess.verify_and_sign(reader, pin, sha256);
        }
        let (signature, _) = self.demo.with_channel(|ch| {
            jpki::verify_pin(ch, pin)?;
            jpki::sign(ch, sha256)
        })?;
        Ok(signature)
    }
}

/// The demo reader as a source of reader events.
pub struct DemoReaderSource {
    pub demo: Arc<DemoReader>,
    seen: Option<(u64, bool)>,
}

impl DemoReaderSource {
    pub fn new(demo: Arc<DemoReader>) -> Self {
        Self { demo, seen: None }
    }
}

impl ReaderSource for DemoReaderSource {
    fn snapshot(&mut self) -> Result<Vec<ReaderInfo>, String> {
        Ok(vec![ReaderInfo {
            name: DEMO_READER.to_owned(),
            card_present: self.demo.lock().card.is_some(),
            atr: None,
        }])
    }

    fn wait(&mut self, timeout: Duration) -> Vec<ReaderEvent> {
        let mut events = Vec::new();
        let reader = DEMO_READER.to_owned();
        let Some((seen_generation, seen_present)) = self.seen else {
            let slot = self.demo.lock();
            events.push(ReaderEvent::ReaderAdded(reader.clone()));
            if slot.card.is_some() {
                events.push(ReaderEvent::CardInserted { reader });
            }
            self.seen = Some((slot.generation, slot.card.is_some()));
            return events;
        };
        let slot = self.demo.lock();
        let (slot, _) = self
            .demo
            .changed
            .wait_timeout_while(slot, timeout, |s| s.generation == seen_generation)
            .unwrap_or_else(|p| p.into_inner());
        if slot.generation == seen_generation {
            return events;
        }
        let present = slot.card.is_some();
        if seen_present {
            events.push(ReaderEvent::CardRemoved {
                reader: reader.clone(),
            });
        }
        if present {
            events.push(ReaderEvent::CardInserted { reader });
        }
        self.seen = Some((slot.generation, present));
        events
    }
}
