//! The virtual My Number card (マイナンバーカード): a pure APDU state machine, no I/O.
//!
//! It answers the short APDUs the JPKI application (公的個人認証AP) and the card-info
//! input-support application (券面事項入力補助AP) understand, byte for byte as the desk app and
//! OpenSC's `jpki` driver expect, so that the whole reading path (PC/SC, retries, PIN
//! counters, SIGN) can be tested without a real card. [`crate::vpcd`] plugs it into pcscd.
//!
//! State split as on a real card: retry counters are non-volatile (they survive power-off,
//! reset and removal); the selected application/file and "PIN verified" flags are volatile
//! and cleared by [`VirtualCard::power_on`], [`VirtualCard::power_off`] and
//! [`VirtualCard::reset`].

use std::time::Duration;

use rsa::Pkcs1v15Sign;

use crate::persona::{
    Persona, AUTH_PIN_MAX_RETRIES, BASIC_INFO_EF_SIZE, CARD_INFO_PIN_MAX_RETRIES,
    SIGNING_PASSWORD_MAX_RETRIES,
};

/// AID of the JPKI application (公的個人認証AP).
pub const JPKI_AID: [u8; 10] = [0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01];
/// AID of the card-info input-support application (券面事項入力補助AP).
pub const CARD_INFO_AID: [u8; 10] = [0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x08];
/// The ATR a My Number card shows on a contactless reader (the one OpenSC's table knows).
pub const DEFAULT_ATR: [u8; 9] = [0x3B, 0xE0, 0x00, 0xFF, 0x81, 0x31, 0xFE, 0x45, 0x14];
/// ATR of the stand-in non-JPKI card (a contactless storage card as built by a PC/SC reader).
pub const NOT_JPKI_ATR: [u8; 20] = [
    0x3B, 0x8F, 0x80, 0x01, 0x80, 0x4F, 0x0C, 0xA0, 0x00, 0x00, 0x03, 0x06, 0x03, 0x00, 0x01, 0x00,
    0x00, 0x00, 0x00, 0x6A,
];
/// Content of the JPKI token-info EF `0006`: the label padded with spaces to 32 bytes.
pub const TOKEN_INFO: &[u8; 32] = b"JPKIAPICCTOKEN2                 ";

/// JPKI AP EF: user-auth certificate (利用者証明用電子証明書), readable without PIN.
pub const EF_AUTH_CERT: u16 = 0x000A;
/// JPKI AP EF: the user-auth CA certificate.
pub const EF_AUTH_CA_CERT: u16 = 0x000B;
/// JPKI AP EF: signing certificate (署名用電子証明書), readable after the signing password.
pub const EF_SIGN_CERT: u16 = 0x0001;
/// JPKI AP EF: the signing CA certificate.
pub const EF_SIGN_CA_CERT: u16 = 0x0002;
/// JPKI AP EF: token info.
pub const EF_TOKEN_INFO: u16 = 0x0006;
/// JPKI AP EF: user-auth private key (SIGN only).
pub const EF_AUTH_KEY: u16 = 0x0017;
/// JPKI AP EF: user-auth PIN (4 digits, 3 tries).
pub const EF_AUTH_PIN: u16 = 0x0018;
/// JPKI AP EF: signing private key (SIGN only).
pub const EF_SIGN_KEY: u16 = 0x001A;
/// JPKI AP EF: signing password (6–16 characters, 5 tries).
pub const EF_SIGN_PIN: u16 = 0x001B;
/// Card-info AP EF: the basic four items (基本4情報) TLV.
pub const EF_CARD_INFO_BASIC: u16 = 0x0002;
/// Card-info AP EF: its PIN (same digits as the user-auth PIN, own counter).
pub const EF_CARD_INFO_PIN: u16 = 0x0011;

/// Largest DigestInfo the card signs: 256-byte modulus minus 11 bytes of PKCS#1 padding.
pub const MAX_SIGN_INPUT: usize = 245;

/// Smallest certificate EF; real cards reserve 2 KB, so readers see `FF` filler after the DER.
const MIN_CERT_EF_SIZE: usize = 2048;

/// Status words the card answers with.
pub mod sw {
    /// Success.
    pub const OK: u16 = 0x9000;
    /// End of file reached before Le bytes were read.
    pub const END_OF_FILE: u16 = 0x6282;
    /// Wrong length (Lc, Le or data size).
    pub const WRONG_LENGTH: u16 = 0x6700;
    /// Command incompatible with the file structure (READ of a PIN or key EF).
    pub const INCOMPATIBLE_FILE: u16 = 0x6981;
    /// Security status not satisfied (PIN not verified).
    pub const SECURITY_NOT_SATISFIED: u16 = 0x6982;
    /// Authentication method blocked (PIN counter at 0, or no PIN at all).
    pub const BLOCKED: u16 = 0x6984;
    /// Conditions of use not satisfied (GET RESPONSE with nothing pending).
    pub const CONDITIONS_NOT_SATISFIED: u16 = 0x6985;
    /// Command not allowed: no current EF, or the wrong kind of EF.
    pub const NO_CURRENT_EF: u16 = 0x6986;
    /// File or application not found.
    pub const NOT_FOUND: u16 = 0x6A82;
    /// Incorrect P1/P2.
    pub const WRONG_P1P2: u16 = 0x6A86;
    /// Offset outside the EF.
    pub const WRONG_OFFSET: u16 = 0x6B00;
    /// INS not supported.
    pub const INS_NOT_SUPPORTED: u16 = 0x6D00;
    /// CLA not supported.
    pub const CLA_NOT_SUPPORTED: u16 = 0x6E00;
    /// Internal error (never expected).
    pub const INTERNAL: u16 = 0x6F00;
}

/// Quirks and faults a card can be started with, to exercise readers' and the app's paths.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CardOptions {
    /// Answer with `61 xx` instead of data, handing the data out on GET RESPONSE
    /// (`00 C0 00 00 xx`), as T=0 readers do.
    pub get_response: bool,
    /// A READ BINARY whose Le exceeds what is left answers `6C xx` (resend with Le = xx)
    /// instead of the short read + `62 82`.
    pub wrong_le_6c: bool,
    /// After answering this many APDUs since insertion, the next APDU makes the card slide
    /// off the reader (the vpcd connection is closed without an answer). Applied by
    /// [`crate::vpcd::InsertedCard`].
    pub remove_after_apdus: Option<u32>,
    /// Sleep before answering each APDU (applied by [`crate::vpcd::InsertedCard`]).
    pub delay_per_apdu: Duration,
    /// Force the user-auth PIN counter to 0 (blocked) whatever the persona says.
    pub pin_blocked: bool,
    /// ATR to show instead of the default.
    pub atr: Option<Vec<u8>>,
}

/// The applications on the card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Application {
    /// 公的個人認証AP.
    Jpki,
    /// 券面事項入力補助AP.
    CardInfo,
}

/// The secrets on the card, each with its own retry counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Secret {
    /// 利用者証明用パスワード (4 digits, EF `0018`).
    UserAuthPin,
    /// 署名用パスワード (EF `001B`).
    SigningPassword,
    /// 券面事項入力補助用暗証番号 (4 digits, EF `0011` of the card-info AP).
    CardInfoPin,
}

impl Secret {
    /// The counter value a correct VERIFY restores.
    pub fn max_retries(self) -> u8 {
        match self {
            Secret::UserAuthPin => AUTH_PIN_MAX_RETRIES,
            Secret::SigningPassword => SIGNING_PASSWORD_MAX_RETRIES,
            Secret::CardInfoPin => CARD_INFO_PIN_MAX_RETRIES,
        }
    }

    fn index(self) -> usize {
        match self {
            Secret::UserAuthPin => 0,
            Secret::SigningPassword => 1,
            Secret::CardInfoPin => 2,
        }
    }

    /// The 4-digit PINs refuse any other length without touching the counter.
    fn is_four_digits(self) -> bool {
        !matches!(self, Secret::SigningPassword)
    }
}

/// What an EF holds.
#[derive(Debug, Clone)]
enum EfContent {
    /// A transparent file, possibly behind a secret.
    Binary {
        data: Vec<u8>,
        needs: Option<Secret>,
    },
    /// A PIN file: VERIFY target, unreadable.
    Pin(Secret),
    /// A private key: SIGN target once `Secret` is verified, unreadable.
    Key(Secret),
}

#[derive(Debug, Clone)]
struct Ef {
    app: Application,
    id: u16,
    content: EfContent,
}

/// The non-volatile part of a JPKI card.
#[derive(Debug, Clone)]
struct JpkiCard {
    persona: Persona,
    files: Vec<Ef>,
    /// Tries left per [`Secret::index`].
    retries: [u8; 3],
}

/// A virtual My Number card (or a non-JPKI card).
#[derive(Debug, Clone)]
pub struct VirtualCard {
    jpki: Option<Box<JpkiCard>>,
    options: CardOptions,
    atr: Vec<u8>,
    powered: bool,
    selected_app: Option<Application>,
    selected_ef: Option<u16>,
    verified: [bool; 3],
    /// Response data (and its final status word) waiting for GET RESPONSE.
    pending: Option<(Vec<u8>, u16)>,
    apdu_count: u32,
}

/// A parsed short APDU.
struct Apdu<'a> {
    p1: u8,
    p2: u8,
    data: &'a [u8],
    /// Ne, with `00` meaning 256.
    le: Option<usize>,
}

/// Splits a short APDU into header, data and Le; `None` when the lengths do not add up
/// (including extended-length APDUs, which the card does not support).
fn parse(command: &[u8]) -> Option<Apdu<'_>> {
    if command.len() < 4 {
        return None;
    }
    let (p1, p2) = (command[2], command[3]);
    let body = &command[4..];
    let le_of = |b: u8| if b == 0 { 256 } else { usize::from(b) };
    let (data, le) = match body.len() {
        0 => (&body[..0], None),
        1 => (&body[..0], Some(le_of(body[0]))),
        n => {
            let lc = usize::from(body[0]);
            if lc == 0 {
                return None;
            }
            if n == 1 + lc {
                (&body[1..], None)
            } else if n == 2 + lc {
                (&body[1..1 + lc], Some(le_of(body[1 + lc])))
            } else {
                return None;
            }
        }
    };
    Some(Apdu { p1, p2, data, le })
}

fn status(sw: u16) -> Vec<u8> {
    sw.to_be_bytes().to_vec()
}

fn with_status(mut data: Vec<u8>, sw: u16) -> Vec<u8> {
    data.extend_from_slice(&sw.to_be_bytes());
    data
}

/// The DER followed by `FF` filler, in an EF of max(2048, length rounded up to 256) bytes.
fn certificate_ef(der: &[u8]) -> Vec<u8> {
    let size = MIN_CERT_EF_SIZE.max(der.len().div_ceil(256) * 256);
    let mut ef = der.to_vec();
    ef.resize(size, 0xFF);
    ef
}

impl VirtualCard {
    /// A JPKI card carrying `persona`, powered off, counters as in the persona file
    /// (the user-auth PIN forced to 0 with [`CardOptions::pin_blocked`]).
    pub fn new(persona: Persona, options: CardOptions) -> VirtualCard {
        let mut basic = persona.basic_info_tlv().to_vec();
        basic.resize(BASIC_INFO_EF_SIZE.max(basic.len()), 0xFF);
        let binary = |app, id, data, needs| Ef {
            app,
            id,
            content: EfContent::Binary { data, needs },
        };
        let files = vec![
            binary(
                Application::Jpki,
                EF_AUTH_CERT,
                certificate_ef(persona.auth_certificate_der()),
                None,
            ),
            binary(
                Application::Jpki,
                EF_AUTH_CA_CERT,
                certificate_ef(persona.auth_ca_certificate_der()),
                None,
            ),
            binary(
                Application::Jpki,
                EF_SIGN_CERT,
                certificate_ef(persona.sign_certificate_der()),
                Some(Secret::SigningPassword),
            ),
            binary(
                Application::Jpki,
                EF_SIGN_CA_CERT,
                certificate_ef(persona.sign_ca_certificate_der()),
                None,
            ),
            binary(Application::Jpki, EF_TOKEN_INFO, TOKEN_INFO.to_vec(), None),
            Ef {
                app: Application::Jpki,
                id: EF_AUTH_PIN,
                content: EfContent::Pin(Secret::UserAuthPin),
            },
            Ef {
                app: Application::Jpki,
                id: EF_SIGN_PIN,
                content: EfContent::Pin(Secret::SigningPassword),
            },
            Ef {
                app: Application::Jpki,
                id: EF_AUTH_KEY,
                content: EfContent::Key(Secret::UserAuthPin),
            },
            Ef {
                app: Application::Jpki,
                id: EF_SIGN_KEY,
                content: EfContent::Key(Secret::SigningPassword),
            },
            binary(
                Application::CardInfo,
                EF_CARD_INFO_BASIC,
                basic,
                Some(Secret::CardInfoPin),
            ),
            Ef {
                app: Application::CardInfo,
                id: EF_CARD_INFO_PIN,
                content: EfContent::Pin(Secret::CardInfoPin),
            },
        ];
        let data = persona.data();
        let retries = [
            if options.pin_blocked {
                0
            } else {
                data.pin_retries
            },
            data.signing_password_retries,
            data.card_info_pin_retries,
        ];
        let jpki = JpkiCard {
            persona,
            files,
            retries,
        };
        VirtualCard::fresh(Some(Box::new(jpki)), options, &DEFAULT_ATR)
    }

    /// A card just taken out of its sleeve: unpowered, nothing selected or verified.
    fn fresh(jpki: Option<Box<JpkiCard>>, options: CardOptions, default_atr: &[u8]) -> VirtualCard {
        let atr = options.atr.clone().unwrap_or_else(|| default_atr.to_vec());
        VirtualCard {
            jpki,
            options,
            atr,
            powered: false,
            selected_app: None,
            selected_ef: None,
            verified: [false; 3],
            pending: None,
            apdu_count: 0,
        }
    }

    /// A contactless card that is not a My Number card: every SELECT fails with `6A82`,
    /// READ BINARY with `6986`, anything else `6D00`.
    pub fn not_jpki() -> VirtualCard {
        VirtualCard::not_jpki_with(CardOptions::default())
    }

    /// [`VirtualCard::not_jpki`] with options (ATR, delay, removal; the others do nothing).
    pub fn not_jpki_with(options: CardOptions) -> VirtualCard {
        VirtualCard::fresh(None, options, &NOT_JPKI_ATR)
    }

    /// The ATR.
    pub fn atr(&self) -> &[u8] {
        &self.atr
    }

    /// The options the card was made with.
    pub fn options(&self) -> &CardOptions {
        &self.options
    }

    /// The persona, `None` for the non-JPKI card.
    pub fn persona(&self) -> Option<&Persona> {
        self.jpki.as_ref().map(|j| &j.persona)
    }

    /// Whether this is a JPKI card.
    pub fn is_jpki(&self) -> bool {
        self.jpki.is_some()
    }

    /// Whether the contacts are powered (vpcd's power-on / reset seen last).
    pub fn is_powered(&self) -> bool {
        self.powered
    }

    /// Cold start: clears selections and verified PINs; counters stay.
    pub fn power_on(&mut self) {
        self.clear_volatile();
        self.powered = true;
    }

    /// Power off: clears selections and verified PINs; counters stay.
    pub fn power_off(&mut self) {
        self.clear_volatile();
        self.powered = false;
    }

    /// Warm reset: clears selections and verified PINs; counters stay.
    pub fn reset(&mut self) {
        self.clear_volatile();
        self.powered = true;
    }

    fn clear_volatile(&mut self) {
        self.selected_app = None;
        self.selected_ef = None;
        self.verified = [false; 3];
        self.pending = None;
    }

    /// APDUs processed since the card was made (GET RESPONSE included).
    pub fn apdu_count(&self) -> u32 {
        self.apdu_count
    }

    /// Tries left on `secret`; `None` for the non-JPKI card and for the PINs of a face-auth
    /// card, which has none.
    pub fn retries(&self, secret: Secret) -> Option<u8> {
        let jpki = self.jpki.as_ref()?;
        if !has_secret(&jpki.persona, secret) {
            return None;
        }
        Some(jpki.retries[secret.index()])
    }

    /// Whether `secret` was verified since the last power-on/reset.
    pub fn is_verified(&self, secret: Secret) -> bool {
        self.verified[secret.index()]
    }

    /// The currently selected application and EF.
    pub fn selection(&self) -> (Option<Application>, Option<u16>) {
        (self.selected_app, self.selected_ef)
    }

    /// Answers one command APDU with response data followed by SW1 SW2.
    pub fn process(&mut self, command: &[u8]) -> Vec<u8> {
        self.apdu_count = self.apdu_count.saturating_add(1);
        if self.jpki.is_none() {
            return not_jpki_answer(command);
        }
        if self.options.get_response
            && command.len() >= 2
            && matches!(command[0], 0x00 | 0x80)
            && command[1] == 0xC0
        {
            return self.get_response(command);
        }
        self.pending = None;
        let response = self.dispatch(command);
        if self.options.get_response && response.len() > 2 {
            let split = response.len() - 2;
            let sw = u16::from_be_bytes([response[split], response[split + 1]]);
            let data = response[..split].to_vec();
            let announced = (data.len() & 0xFF) as u8; // 256 is announced as 00
            self.pending = Some((data, sw));
            return vec![0x61, announced];
        }
        response
    }

    fn get_response(&mut self, command: &[u8]) -> Vec<u8> {
        let Some(apdu) = parse(command) else {
            return status(sw::WRONG_LENGTH);
        };
        if apdu.p1 != 0 || apdu.p2 != 0 {
            return status(sw::WRONG_P1P2);
        }
        let Some(le) = apdu.le.filter(|_| apdu.data.is_empty()) else {
            return status(sw::WRONG_LENGTH);
        };
        let Some((mut data, final_sw)) = self.pending.take() else {
            return status(sw::CONDITIONS_NOT_SATISFIED);
        };
        if le >= data.len() {
            return with_status(data, final_sw);
        }
        let rest = data.split_off(le);
        let announced = (rest.len() & 0xFF) as u8;
        self.pending = Some((rest, final_sw));
        with_status(data, 0x6100 | u16::from(announced))
    }

    fn dispatch(&mut self, command: &[u8]) -> Vec<u8> {
        if command.len() < 4 {
            return status(sw::WRONG_LENGTH);
        }
        if !matches!(command[0], 0x00 | 0x80) {
            return status(sw::CLA_NOT_SUPPORTED);
        }
        let ins = command[1];
        if !matches!(ins, 0xA4 | 0xB0 | 0x20 | 0x2A) {
            return status(sw::INS_NOT_SUPPORTED);
        }
        let Some(apdu) = parse(command) else {
            return status(sw::WRONG_LENGTH);
        };
        match ins {
            0xA4 => self.select(&apdu),
            0xB0 => self.read_binary(&apdu),
            0x20 => self.verify(&apdu),
            _ => self.sign(&apdu),
        }
    }

    fn current_ef(&self) -> Option<&Ef> {
        let app = self.selected_app?;
        let id = self.selected_ef?;
        self.jpki
            .as_ref()?
            .files
            .iter()
            .find(|ef| ef.app == app && ef.id == id)
    }

    fn select(&mut self, apdu: &Apdu<'_>) -> Vec<u8> {
        // P2 0C = no response data; 00 (FCI requested) is accepted but answered without FCI.
        if !matches!(apdu.p2, 0x0C | 0x00) {
            return status(sw::WRONG_P1P2);
        }
        match apdu.p1 {
            0x04 => {
                if apdu.data.is_empty() {
                    return status(sw::WRONG_LENGTH);
                }
                let app = if apdu.data == JPKI_AID {
                    Application::Jpki
                } else if apdu.data == CARD_INFO_AID {
                    Application::CardInfo
                } else {
                    return status(sw::NOT_FOUND);
                };
                self.selected_app = Some(app);
                self.selected_ef = None;
                status(sw::OK)
            }
            0x02 => {
                if apdu.data.len() != 2 {
                    return status(sw::WRONG_LENGTH);
                }
                let Some(app) = self.selected_app else {
                    return status(sw::NOT_FOUND);
                };
                let id = u16::from_be_bytes([apdu.data[0], apdu.data[1]]);
                let exists = self
                    .jpki
                    .as_ref()
                    .is_some_and(|j| j.files.iter().any(|ef| ef.app == app && ef.id == id));
                if !exists {
                    return status(sw::NOT_FOUND);
                }
                self.selected_ef = Some(id);
                status(sw::OK)
            }
            _ => status(sw::WRONG_P1P2),
        }
    }

    fn read_binary(&mut self, apdu: &Apdu<'_>) -> Vec<u8> {
        // P1 bit 8 set would mean "short EF id in P1", which the card does not support.
        if apdu.p1 & 0x80 != 0 {
            return status(sw::WRONG_P1P2);
        }
        let Some(le) = apdu.le.filter(|_| apdu.data.is_empty()) else {
            return status(sw::WRONG_LENGTH);
        };
        let offset = usize::from(u16::from_be_bytes([apdu.p1, apdu.p2]));
        let Some(ef) = self.current_ef() else {
            return status(sw::NO_CURRENT_EF);
        };
        let (data, needs) = match &ef.content {
            EfContent::Binary { data, needs } => (data, *needs),
            EfContent::Pin(_) | EfContent::Key(_) => return status(sw::INCOMPATIBLE_FILE),
        };
        if needs.is_some_and(|s| !self.verified[s.index()]) {
            return status(sw::SECURITY_NOT_SATISFIED);
        }
        if offset >= data.len() {
            return status(sw::WRONG_OFFSET);
        }
        let left = data.len() - offset;
        if left < le {
            if self.options.wrong_le_6c {
                return status(0x6C00 | left as u16);
            }
            return with_status(data[offset..].to_vec(), sw::END_OF_FILE);
        }
        with_status(data[offset..offset + le].to_vec(), sw::OK)
    }

    fn verify(&mut self, apdu: &Apdu<'_>) -> Vec<u8> {
        if apdu.p1 != 0x00 || apdu.p2 != 0x80 {
            return status(sw::WRONG_P1P2);
        }
        let secret = match self.current_ef().map(|ef| &ef.content) {
            Some(EfContent::Pin(secret)) => *secret,
            _ => return status(sw::NO_CURRENT_EF),
        };
        let Some(jpki) = self.jpki.as_mut() else {
            return status(sw::INTERNAL);
        };
        let Some(expected) = secret_value(&jpki.persona, secret) else {
            // A face-auth card has no PIN: nothing to verify, ever.
            return status(sw::BLOCKED);
        };
        let index = secret.index();
        let left = jpki.retries[index];
        if apdu.data.is_empty() {
            // Asking the counter never consumes a try.
            return if left == 0 {
                status(sw::BLOCKED)
            } else {
                status(0x63C0 | u16::from(left))
            };
        }
        if left == 0 {
            return status(sw::BLOCKED);
        }
        if secret.is_four_digits() && apdu.data.len() != 4 {
            return status(sw::WRONG_LENGTH);
        }
        if apdu.data == expected.as_bytes() {
            jpki.retries[index] = secret.max_retries();
            self.verified[index] = true;
            status(sw::OK)
        } else {
            let left = left - 1;
            jpki.retries[index] = left;
            self.verified[index] = false;
            status(0x63C0 | u16::from(left))
        }
    }

    fn sign(&mut self, apdu: &Apdu<'_>) -> Vec<u8> {
        if apdu.p1 != 0x00 || apdu.p2 != 0x80 {
            return status(sw::WRONG_P1P2);
        }
        if apdu.data.is_empty() || apdu.data.len() > MAX_SIGN_INPUT {
            return status(sw::WRONG_LENGTH);
        }
        let secret = match self.current_ef().map(|ef| &ef.content) {
            Some(EfContent::Key(secret)) => *secret,
            _ => return status(sw::NO_CURRENT_EF),
        };
        if !self.verified[secret.index()] {
            return status(sw::SECURITY_NOT_SATISFIED);
        }
        let Some(jpki) = self.jpki.as_ref() else {
            return status(sw::INTERNAL);
        };
        let key = match secret {
            Secret::SigningPassword => jpki.persona.sign_private_key(),
            _ => jpki.persona.auth_private_key(),
        };
        // The card signs the DigestInfo it is given, as-is: the caller picked the hash.
        match key.sign(Pkcs1v15Sign::new_unprefixed(), apdu.data) {
            Ok(signature) => with_status(signature, sw::OK),
            Err(_) => status(sw::INTERNAL),
        }
    }
}

fn has_secret(persona: &Persona, secret: Secret) -> bool {
    secret_value(persona, secret).is_some()
}

fn secret_value(persona: &Persona, secret: Secret) -> Option<&str> {
    match secret {
        Secret::UserAuthPin | Secret::CardInfoPin => persona.pin(),
        Secret::SigningPassword => Some(persona.signing_password()),
    }
}

fn not_jpki_answer(command: &[u8]) -> Vec<u8> {
    match command.get(1) {
        Some(0xA4) if command.len() >= 4 => status(sw::NOT_FOUND),
        Some(0xB0) if command.len() >= 4 => status(sw::NO_CURRENT_EF),
        _ if command.len() < 4 => status(sw::WRONG_LENGTH),
        _ => status(sw::INS_NOT_SUPPORTED),
    }
}

#[cfg(test)]
mod tests;
