//! The desk's configuration file (TOML), parsed and validated once at start.
//!
//! Found at `--config PATH`, else `$ONSHI_CONFIG`, else `<platform config dir>/onshi-desk/
//! config.toml` (`~/.config/onshi-desk/config.toml` on Linux). Relative paths inside are
//! relative to the file's folder, so a config and its certificates can be moved together.
//!
//! ```toml
//! facility_code = "1312345678"        # 医療機関コード, 10 digits
//!
//! [endpoint]
//! url = "https://127.0.0.1:8443/"     # base URL of the online qualification service
//! ca = "tls/server-ca.pem"            # the only CA trusted for the server
//! client_certificate = "tls/facility.pem"
//! client_key = "tls/facility-key.pem"
//! connect_timeout_ms = 3000
//! timeout_ms = 10000                  # the whole exchange: login (when needed) and request
//! login_path = "/online-qualification/v1/login"  # optional; the real web API's public code
//! search_path = "/online-qualification/v1/qualification-confirmation"  # uses /oqs-api-pro/…
//! challenge_path = "/online-qualification/v1/challenge"  # optional
//! token_lifetime_s = 1800             # when the login answer does not say (60–86400)
//!
//! [card]
//! reader = "SONY FeliCa"              # optional: name or start of the name
//! grace_end = "end-of-month"          # the published rule; "from-expiry-date" only if needed
//!
//! [desk]
//! facility_name = "オンシ診療所"        # printed on the self-declaration
//! printer = "reception-a4"            # CUPS queue; default: the system's default printer
//! passcode = "sha256:<salt>:<digest>" # visual-check passcode (`onshi-desk passcode-hash`)
//! settings_passcode = "sha256:…"      # optional: opens the settings instead of `passcode`
//! passcode_delays_s = [0, 0, 5, 15, 60] # wait after the 1st, 2nd, … wrong passcode (last repeats)
//! patient_display = true              # optional: a second window for the patient (default false)
//! patient_display_position = [1920, 0] # optional: where it opens (the second display)
//! scale = 1.2                         # text size of the desk screen (0.8–2.0)
//! result_timeout_s = 60               # an unattended result closes after this (10–3600 s)
//!
//! [journal]
//! path = "journal.sqlite3"            # optional: default <data dir>/onshi-desk/journal.sqlite3
//! retention_days = 35                 # card certificates of queued checks kept at most this long
//! csv_encoding = "utf-8-bom"          # month-end CSV files: "utf-8-bom" (default), "shift_jis", "utf-8"
//! url = "postgres://onshi@db.clinic.lan:5432/onshi"  # optional: the facility's shared journal (docs/shared-journal.md)
//! password_file = "journal-password.txt"  # or password = "…" (never in the URL)
//! ca = "db-ca.pem"                    # required with url: the database server's CA (TLS always)
//! desk_id = "desk1"                   # this desk in the shared journal; default [interop] desk_id
//!
//! [interop]                           # the receipt computer's folders (レセコン連携), docs/receipt-computer.md
//! enabled = true                      # default false
//! folder = "//server/oqs"             # holds req, res, face, rejected (a UNC or Windows path is just a path)
//! encoding = "shift_jis"              # result files: "shift_jis" (default) or "utf-8"
//! desk_id = "desk1"                   # in face file names; default the host name, else desk1
//! max_request_bytes = 1048576         # larger request files are refused (moved to rejected)
//! poll_ms = 500                       # how often the watcher looks at req
//! settle_ms = 200                     # a request must stay unchanged this long before it is taken
//! stale_claim_s = 600                 # a claim of a desk that died is taken back after this
//! face_prefix = "OQSsiquc01res_face_" # face file names start with this (unconfirmed)
//!
//! [public_expense]                    # 公費・医療費助成 (README "公費 rule table")
//! table = "public_expense.toml"       # the facility's rule table; default: the shipped one
//! ```

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::domain::expiry::GraceEnd;
use crate::domain::text::TextEncoding;
use crate::domain::FacilityCode;

/// Where and how to reach the online qualification service.
#[derive(Clone, Debug)]
pub struct EndpointConfig {
    /// Base URL, ending in `/`.
    pub url: String,
    pub ca: PathBuf,
    pub client_certificate: PathBuf,
    pub client_key: PathBuf,
    pub connect_timeout: Duration,
    pub timeout: Duration,
    /// Path of the login (`POST`, the facility certificate is the credential), under `url`.
    pub login_path: String,
    /// Path of the qualification-confirmation search, under `url`.
    pub search_path: String,
    /// Path of the PIN method's challenge (project extension), under `url`.
    pub challenge_path: String,
    /// How long a login token is used when the login answer does not say (the real service's
    /// lifetime is not public: unconfirmed).
    pub token_lifetime: Duration,
}

/// The project's login path (the mock also serves the public `/oqs-api-pro/…/auth`).
pub const DEFAULT_LOGIN_PATH: &str = "/online-qualification/v1/login";
/// The project's search path (the mock also serves the public `/oqs-api-pro/…/search`).
pub const DEFAULT_SEARCH_PATH: &str = "/online-qualification/v1/qualification-confirmation";
/// The challenge path (project extension: public code has no challenge).
pub const DEFAULT_CHALLENGE_PATH: &str = "/online-qualification/v1/challenge";
/// Token lifetime assumed when the login answer does not give one: 30 minutes (unconfirmed).
pub const DEFAULT_TOKEN_LIFETIME_S: u64 = 1800;

/// A configured endpoint path: `/` then URL path characters only (RFC 3986 `pchar` and `/`),
/// no query or fragment, so a setting cannot smuggle a second host or a header.
fn endpoint_path(
    value: Option<String>,
    default: &str,
    field: &'static str,
) -> Result<String, ConfigError> {
    let path = value.unwrap_or_else(|| default.to_owned());
    let allowed = |c: char| c.is_ascii_alphanumeric() || "-._~!$&'()*+,;=:@%/".contains(c);
    if !path.starts_with('/') || path.starts_with("//") || path.len() > 200 {
        return Err(ConfigError::Invalid {
            field,
            detail: format!("{path:?}: must start with a single / (at most 200 characters)"),
        });
    }
    if let Some(c) = path.chars().find(|c| !allowed(*c)) {
        return Err(ConfigError::Invalid {
            field,
            detail: format!("{path:?}: {c:?} is not allowed in a path"),
        });
    }
    Ok(path)
}

/// Card reader settings.
#[derive(Clone, Debug, Default)]
pub struct CardConfig {
    pub reader: Option<String>,
    pub grace_end: GraceEnd,
}

/// The validated configuration.
#[derive(Clone, Debug)]
pub struct Config {
    pub facility_code: FacilityCode,
    pub endpoint: EndpointConfig,
    pub card: CardConfig,
    pub desk: DeskConfig,
    pub journal: JournalConfig,
    pub interop: InteropConfig,
    pub public_expense: PublicExpenseConfig,
    /// The file it came from.
    pub path: PathBuf,
}

/// The reception desk's own settings.
#[derive(Clone, Debug)]
pub struct DeskConfig {
    /// 医療機関・薬局の名称, printed on the self-declaration.
    pub facility_name: Option<String>,
    /// The facility passcode for visual-check mode (目視確認モード), stored hashed.
    pub passcode: Option<PasscodeHash>,
    /// The settings passcode (設定用パスコード), stored hashed: the code typed for visual
    /// check is typed in view of patients, so it should not also open the endpoint and
    /// certificate settings. `None`: the facility passcode opens them, after a confirmation.
    pub settings_passcode: Option<PasscodeHash>,
    /// Seconds a staff passcode keypad waits after the 1st, 2nd, … wrong try in a row; the
    /// last value for every later one (see [`DEFAULT_PASSCODE_DELAYS_S`]).
    pub passcode_delays_s: Vec<u32>,
    /// The patient-facing window (お客様用画面) on a second display, as reception desks with
    /// a customer display have: the PIN keypad is there, the clerk's window shows the rest.
    /// Off by default: one window for a single touch screen.
    pub patient_display: bool,
    /// Where the patient window opens (its top-left corner in the desktop's coordinates, in
    /// points: `[1920, 0]` for a second display to the right of a 1920-wide first one);
    /// `None`: wherever the window system puts it.
    pub patient_display_position: Option<[f32; 2]>,
    /// CUPS queue for printouts; `None` = the system's default printer.
    pub printer: Option<String>,
    /// Text size factor of the desk screen (1.0 = body text 22 pt).
    pub scale: Option<f32>,
    /// How long a result stays on screen when nobody taps it: then the desk returns to
    /// waiting, so one patient's name and numbers do not stay in view of the next.
    pub result_timeout: Duration,
}

/// Seconds an unattended result stays on screen when `[desk] result_timeout_s` is not set.
///
/// Unconfirmed: no public rule sets it. A minute is long enough to read the ratio and the
/// numbers and short enough that the next patient in line does not see them; a facility
/// sets its own (10 s to an hour).
pub const DEFAULT_RESULT_TIMEOUT_S: u64 = 60;

/// The range `[desk] result_timeout_s` accepts: below 10 s a clerk cannot read the result,
/// above an hour it is no timeout.
pub const RESULT_TIMEOUT_RANGE_S: std::ops::RangeInclusive<u64> = 10..=3600;

impl Default for DeskConfig {
    fn default() -> Self {
        DeskConfig {
            facility_name: None,
            passcode: None,
            settings_passcode: None,
            passcode_delays_s: DEFAULT_PASSCODE_DELAYS_S.to_vec(),
            patient_display: false,
            patient_display_position: None,
            printer: None,
            scale: None,
            result_timeout: Duration::from_secs(DEFAULT_RESULT_TIMEOUT_S),
        }
    }
}

/// The wait after wrong staff passcodes when `[desk] passcode_delays_s` is not set: nothing
/// after the 1st and 2nd wrong try in a row, then 5 s, 15 s, and 60 s after each later one.
///
/// Our choice (unconfirmed: no public source sets a rule for a facility's own passcode): a
/// clerk who mistypes once or twice never waits, and guessing all 10,000 codes at the desk
/// takes about a week.
pub const DEFAULT_PASSCODE_DELAYS_S: [u32; 5] = [0, 0, 5, 15, 60];

/// The longest wait `[desk] passcode_delays_s` may set (an hour): longer would lock staff out
/// of visual check for a morning.
pub const MAX_PASSCODE_DELAY_S: u32 = 3600;

/// The reception journal (受付記録).
#[derive(Clone, Debug)]
pub struct JournalConfig {
    /// The SQLite file; `None` = [`default_journal_path`] (the local data dir).
    pub path: Option<PathBuf>,
    /// Days a queued card check's certificate is kept at most (see `journal` retention rule).
    pub retention_days: u32,
    /// The encoding of the month-end CSV files (月末の帳票): UTF-8 with BOM by default, which
    /// Japanese Excel opens correctly; Shift_JIS for programs that read nothing else
    /// (see [`TextEncoding`] for why and what is unconfirmed).
    pub csv_encoding: TextEncoding,
    /// The facility's shared journal on PostgreSQL (`[journal] url`); `None`: this desk's
    /// SQLite file only. With it the SQLite file stays, as the desk's own copy and its outage
    /// store (`crate::journal::shared`).
    pub shared: Option<SharedJournalConfig>,
}

/// Where and how to reach the facility's shared journal (`[journal] url`, `password` or
/// `password_file`, `ca`, `desk_id`).
///
/// The password is never printed: `Debug` shows whether one is set, and the logs name the
/// database by [`SharedJournalConfig::redacted`] only.
#[derive(Clone)]
pub struct SharedJournalConfig {
    /// `postgres://user@host:port/dbname` (libpq URL form; a password in it is refused: it
    /// would end up in logs and screenshots of the settings).
    pub url: String,
    /// The password, from `password` or read from `password_file` when the journal connects.
    pub password: Option<SharedPassword>,
    /// The CA certificate (PEM) the database server's certificate must chain to. TLS is always
    /// used and the server's name checked: a patient's data never crosses the LAN in clear.
    pub ca: PathBuf,
    /// This desk's name in the shared journal (which desk made each check); default
    /// `[interop] desk_id` (the host name).
    pub desk_id: String,
}

/// Where the shared journal's password comes from.
#[derive(Clone)]
pub enum SharedPassword {
    /// Written in the configuration (`password`).
    Inline(zeroize::Zeroizing<String>),
    /// Read from this file (`password_file`) each time the journal connects: the password can
    /// be rotated without touching the configuration, and the file kept owner-only.
    File(PathBuf),
}

impl std::fmt::Debug for SharedJournalConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedJournalConfig")
            .field("url", &self.url)
            .field(
                "password",
                &match &self.password {
                    None => "none".to_owned(),
                    Some(SharedPassword::Inline(_)) => "(set)".to_owned(),
                    Some(SharedPassword::File(p)) => format!("file {}", p.display()),
                },
            )
            .field("ca", &self.ca)
            .field("desk_id", &self.desk_id)
            .finish()
    }
}

impl SharedJournalConfig {
    /// The database as logs and the desk name it: the URL without any query options (the URL
    /// holds no password, see [`SharedJournalConfig::url`]).
    pub fn redacted(&self) -> String {
        self.url.split('?').next().unwrap_or_default().to_owned()
    }
}

/// The `[journal] url` rules: the libpq URL form, no password inside it.
fn parse_shared_url(url: &str) -> Result<String, ConfigError> {
    let invalid = |detail: String| ConfigError::Invalid {
        field: "journal.url",
        detail,
    };
    let rest = url
        .strip_prefix("postgres://")
        .or_else(|| url.strip_prefix("postgresql://"))
        .ok_or_else(|| invalid("must start with postgres://".into()))?;
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    if let Some((userinfo, _)) = authority.rsplit_once('@') {
        if userinfo.contains(':') {
            return Err(invalid(
                "holds a password: put it in journal.password_file (or journal.password) instead"
                    .into(),
            ));
        }
    }
    if authority.is_empty() || authority.ends_with('@') {
        return Err(invalid("names no host".into()));
    }
    if url.chars().any(char::is_control) || url.len() > 1000 {
        return Err(invalid("is not a plausible URL".into()));
    }
    Ok(url.to_owned())
}

/// Days a queued card check's certificate is kept when `[journal] retention_days` is not set:
/// the configuration owns the default, the journal is given the number.
pub const DEFAULT_RETENTION_DAYS: u32 = 35;

/// The journal file when `[journal] path` is not set: `<local data dir>/onshi-desk/
/// journal.sqlite3` — `~/.local/share/onshi-desk/` on Linux, `%LOCALAPPDATA%\onshi-desk\` on
/// Windows. Local, not roaming (`%APPDATA%`): a roaming profile copies its folder to a server at
/// sign-out, and a SQLite file copied while open, or synced back over a newer one, loses
/// records. The configuration, small and edited by hand, is what roams ([`default_path`]).
pub fn default_journal_path() -> PathBuf {
    dirs::data_local_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("onshi-desk")
        .join("journal.sqlite3")
}

impl Default for JournalConfig {
    fn default() -> Self {
        JournalConfig {
            path: None,
            retention_days: DEFAULT_RETENTION_DAYS,
            csv_encoding: TextEncoding::default(),
            shared: None,
        }
    }
}

impl JournalConfig {
    /// The journal file to use.
    pub fn path(&self) -> PathBuf {
        self.path.clone().unwrap_or_else(default_journal_path)
    }
}

/// A salted SHA-256 of the 4-digit facility passcode: `sha256:<salt hex>:<digest hex>`.
///
/// A 4-digit code cannot be kept secret from someone who can read the file and try 10,000
/// hashes; the hash keeps it off the screen and out of casual reading of the configuration,
/// which is what the desk needs. `onshi-desk passcode-hash` makes the line.
#[derive(Clone, PartialEq, Eq)]
pub struct PasscodeHash {
    salt: Vec<u8>,
    digest: [u8; 32],
}

impl std::fmt::Debug for PasscodeHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasscodeHash(..)")
    }
}

impl PasscodeHash {
    fn hash(salt: &[u8], passcode: &str) -> [u8; 32] {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        h.update(salt);
        h.update(passcode.as_bytes());
        h.finalize().into()
    }

    /// Hashes `passcode` (4 digits) with `salt`.
    pub fn new(passcode: &str, salt: &[u8]) -> Result<PasscodeHash, ConfigError> {
        if passcode.len() != 4 || !passcode.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ConfigError::Invalid {
                field: "desk.passcode",
                detail: "the passcode is 4 digits".into(),
            });
        }
        Ok(PasscodeHash {
            salt: salt.to_vec(),
            digest: Self::hash(salt, passcode),
        })
    }

    pub fn parse(text: &str) -> Result<PasscodeHash, ConfigError> {
        Self::parse_setting(text, "desk.passcode")
    }

    /// Parses the passcode line of the setting `field` (errors name it).
    pub fn parse_setting(text: &str, field: &'static str) -> Result<PasscodeHash, ConfigError> {
        let bad = |detail: &str| ConfigError::Invalid {
            field,
            detail: detail.to_owned(),
        };
        let hex = |h: &str| -> Option<Vec<u8>> {
            h.len()
                .is_multiple_of(2)
                .then(|| {
                    (0..h.len())
                        .step_by(2)
                        .map(|i| u8::from_str_radix(h.get(i..i + 2)?, 16).ok())
                        .collect()
                })
                .flatten()
        };
        let mut parts = text.trim().split(':');
        let (Some("sha256"), Some(salt), Some(digest), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad("expected sha256:<salt hex>:<digest hex>"));
        };
        let salt = hex(salt)
            .filter(|s| s.len() >= 8)
            .ok_or_else(|| bad("salt"))?;
        let digest: [u8; 32] = hex(digest)
            .and_then(|d| d.try_into().ok())
            .ok_or_else(|| bad("digest: 64 hex digits"))?;
        Ok(PasscodeHash { salt, digest })
    }

    /// Whether `typed` is the passcode (compared without an early exit).
    pub fn matches(&self, typed: &str) -> bool {
        let got = Self::hash(&self.salt, typed);
        got.iter()
            .zip(self.digest.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }
}

impl fmt::Display for PasscodeHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
        write!(f, "sha256:{}:{}", hex(&self.salt), hex(&self.digest))
    }
}

/// A configuration problem, naming the field.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("no configuration file: looked for {0}")]
    Missing(PathBuf),
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {detail}")]
    Syntax { path: PathBuf, detail: String },
    #[error("{field}: {detail}")]
    Invalid { field: &'static str, detail: String },
}

impl ConfigError {
    pub fn desk_message(&self) -> String {
        match self {
            ConfigError::Missing(p) => format!(
                "設定ファイルがありません({})。システム担当者に設定を依頼してください。",
                p.display()
            ),
            ConfigError::Read { path, .. } => {
                format!("設定ファイルを読めません({})。", path.display())
            }
            ConfigError::Syntax { path, .. } => {
                format!("設定ファイルの書式に誤りがあります({})。", path.display())
            }
            ConfigError::Invalid { field, .. } => {
                format!("設定「{field}」の値が正しくありません。")
            }
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    facility_code: String,
    endpoint: EndpointFile,
    #[serde(default)]
    card: CardFile,
    #[serde(default)]
    desk: DeskFile,
    #[serde(default)]
    journal: JournalFile,
    #[serde(default)]
    interop: InteropFile,
    #[serde(default)]
    public_expense: PublicExpenseFile,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct PublicExpenseFile {
    table: Option<PathBuf>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct JournalFile {
    path: Option<PathBuf>,
    retention_days: Option<u32>,
    csv_encoding: Option<String>,
    url: Option<String>,
    password: Option<String>,
    password_file: Option<PathBuf>,
    ca: Option<PathBuf>,
    desk_id: Option<String>,
}

/// The shared-journal keys of `[journal]`, validated together.
struct SharedJournalFile {
    url: Option<String>,
    password: Option<String>,
    password_file: Option<PathBuf>,
    ca: Option<PathBuf>,
    desk_id: Option<String>,
}

impl SharedJournalFile {
    fn parse(
        self,
        default_desk_id: &str,
        resolve: &dyn Fn(PathBuf) -> PathBuf,
    ) -> Result<Option<SharedJournalConfig>, ConfigError> {
        let invalid = |field: &'static str, detail: &str| ConfigError::Invalid {
            field,
            detail: detail.to_owned(),
        };
        let Some(url) = self.url.filter(|u| !u.trim().is_empty()) else {
            if self.password.is_some()
                || self.password_file.is_some()
                || self.ca.is_some()
                || self.desk_id.is_some()
            {
                return Err(invalid(
                    "journal.url",
                    "required when password, password_file, ca or desk_id is set",
                ));
            }
            return Ok(None);
        };
        let url = parse_shared_url(url.trim())?;
        let password = match (self.password, self.password_file) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "journal.password",
                    "set either password or password_file, not both",
                ))
            }
            (Some(p), None) => Some(SharedPassword::Inline(zeroize::Zeroizing::new(p))),
            (None, Some(f)) => Some(SharedPassword::File(resolve(f))),
            (None, None) => None,
        };
        let ca = self.ca.map(resolve).ok_or_else(|| {
            invalid(
                "journal.ca",
                "required with journal.url: the CA certificate (PEM) of the database server",
            )
        })?;
        let desk_id = match self.desk_id {
            None => default_desk_id.to_owned(),
            Some(d) if is_safe_file_token(&d) => d,
            Some(_) => {
                return Err(invalid(
                    "journal.desk_id",
                    "only ASCII letters, digits, '-' and '_', 1 to 64 characters",
                ))
            }
        };
        Ok(Some(SharedJournalConfig {
            url,
            password,
            ca,
            desk_id,
        }))
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct DeskFile {
    facility_name: Option<String>,
    passcode: Option<String>,
    settings_passcode: Option<String>,
    passcode_delays_s: Option<Vec<u32>>,
    printer: Option<String>,
    scale: Option<f32>,
    result_timeout_s: Option<u64>,
    patient_display: Option<bool>,
    patient_display_position: Option<[f32; 2]>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EndpointFile {
    url: String,
    ca: PathBuf,
    client_certificate: PathBuf,
    client_key: PathBuf,
    connect_timeout_ms: Option<u64>,
    timeout_ms: Option<u64>,
    login_path: Option<String>,
    search_path: Option<String>,
    challenge_path: Option<String>,
    token_lifetime_s: Option<u64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct CardFile {
    reader: Option<String>,
    grace_end: Option<GraceEnd>,
}

/// Largest configuration file read: a real one is under a kilobyte. The limit keeps a path
/// naming a device or a huge file from exhausting memory before parsing even starts.
pub const MAX_CONFIG_BYTES: u64 = 64 * 1024;

/// Largest PEM file (CA bundle, certificate chain, private key) read for the TLS client: a
/// real one is a few kilobytes; a bundle of a hundred CAs still fits.
pub const MAX_PEM_BYTES: u64 = 1024 * 1024;

/// What the desk is told when a file it was pointed at cannot be read (a portal PDF, a claim
/// input): a device or FIFO, too large, or not readable at all. The precise English error goes
/// to the log.
pub fn unreadable_file_message(e: &onshi_files::ReadError, path: &Path) -> String {
    match e {
        onshi_files::ReadError::NotRegular { .. } => {
            format!("通常のファイルではありません: {}", path.display())
        }
        onshi_files::ReadError::TooLarge { .. } => {
            format!("ファイルが大きすぎます: {}", path.display())
        }
        onshi_files::ReadError::Io { .. } => format!("ファイルを読めません: {}", path.display()),
    }
}

/// Reads a PEM file named by the configuration setting `field`, bounded and only if it is a
/// regular file; the error names the setting and says precisely what is wrong.
pub fn read_pem_setting(field: &'static str, path: &Path) -> Result<Vec<u8>, ConfigError> {
    onshi_files::read_limited(path, MAX_PEM_BYTES).map_err(|e| ConfigError::Invalid {
        field,
        detail: format!("{}: {}", path.display(), e.into_io_error()),
    })
}

/// The path the desk reads its configuration from when none is given: `ONSHI_CONFIG`, else
/// `<config dir>/onshi-desk/config.toml` — `~/.config/onshi-desk/` on Linux,
/// `%APPDATA%\onshi-desk\` on Windows.
pub fn default_path() -> PathBuf {
    if let Some(p) = std::env::var_os("ONSHI_CONFIG") {
        return PathBuf::from(p);
    }
    dirs::config_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("onshi-desk")
        .join("config.toml")
}

impl Config {
    /// Loads `path`, or the default path when `None`.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let path = path.map(Path::to_path_buf).unwrap_or_else(default_path);
        let text =
            onshi_files::read_limited_to_string(&path, MAX_CONFIG_BYTES).map_err(|e| match e {
                onshi_files::ReadError::Io { source, .. }
                    if source.kind() == std::io::ErrorKind::NotFound =>
                {
                    ConfigError::Missing(path.clone())
                }
                other => ConfigError::Read {
                    path: path.clone(),
                    source: other.into_io_error(),
                },
            })?;
        Self::parse(&text, &path)
    }

    /// Parses configuration text; relative paths are resolved against `path`'s folder.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let file: File = toml::from_str(text).map_err(|e| ConfigError::Syntax {
            path: path.to_owned(),
            detail: e.to_string(),
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        let resolve = |p: PathBuf| if p.is_absolute() { p } else { base.join(p) };
        let e = file.endpoint;
        let url = e.url.trim();
        // The scheme is case-insensitive (RFC 3986 §3.1): `HTTPS://` is https, written as
        // `https://` from here on; anything else (plain http above all) is refused.
        let mut url = match url.get(..8) {
            Some(scheme) if scheme.eq_ignore_ascii_case("https://") => {
                format!("https://{}", url.get(8..).unwrap_or_default())
            }
            _ => {
                return Err(ConfigError::Invalid {
                    field: "endpoint.url",
                    detail: format!("{url:?}: only https:// is allowed"),
                });
            }
        };
        if !url.ends_with('/') {
            url.push('/');
        }
        let ms = |v: Option<u64>, default: u64, field: &'static str| match v.unwrap_or(default) {
            0 => Err(ConfigError::Invalid {
                field,
                detail: "must be more than 0".into(),
            }),
            n if n > 600_000 => Err(ConfigError::Invalid {
                field,
                detail: "must be at most 600000 (10 minutes)".into(),
            }),
            n => Ok(Duration::from_millis(n)),
        };
        let interop = InteropConfig::parse(file.interop, &resolve)?;
        let shared = SharedJournalFile {
            url: file.journal.url,
            password: file.journal.password,
            password_file: file.journal.password_file,
            ca: file.journal.ca,
            desk_id: file.journal.desk_id,
        }
        .parse(&interop.desk_id, &resolve)?;
        Ok(Config {
            facility_code: FacilityCode::parse(&file.facility_code).map_err(|e| {
                ConfigError::Invalid {
                    field: "facility_code",
                    detail: e.to_string(),
                }
            })?,
            endpoint: EndpointConfig {
                url,
                ca: resolve(e.ca),
                client_certificate: resolve(e.client_certificate),
                client_key: resolve(e.client_key),
                connect_timeout: ms(e.connect_timeout_ms, 3_000, "endpoint.connect_timeout_ms")?,
                timeout: ms(e.timeout_ms, 10_000, "endpoint.timeout_ms")?,
                login_path: endpoint_path(e.login_path, DEFAULT_LOGIN_PATH, "endpoint.login_path")?,
                search_path: endpoint_path(
                    e.search_path,
                    DEFAULT_SEARCH_PATH,
                    "endpoint.search_path",
                )?,
                challenge_path: endpoint_path(
                    e.challenge_path,
                    DEFAULT_CHALLENGE_PATH,
                    "endpoint.challenge_path",
                )?,
                token_lifetime: match e.token_lifetime_s.unwrap_or(DEFAULT_TOKEN_LIFETIME_S) {
                    s @ 60..=86_400 => Duration::from_secs(s),
                    _ => {
                        return Err(ConfigError::Invalid {
                            field: "endpoint.token_lifetime_s",
                            detail: "must be 60 to 86400 (a minute to a day)".into(),
                        })
                    }
                },
            },
            card: CardConfig {
                reader: file.card.reader,
                grace_end: file.card.grace_end.unwrap_or_default(),
            },
            desk: DeskConfig {
                facility_name: file.desk.facility_name.map(|n| n.trim().to_owned()),
                passcode: file
                    .desk
                    .passcode
                    .as_deref()
                    .map(PasscodeHash::parse)
                    .transpose()?,
                settings_passcode: file
                    .desk
                    .settings_passcode
                    .as_deref()
                    .map(|line| PasscodeHash::parse_setting(line, "desk.settings_passcode"))
                    .transpose()?,
                passcode_delays_s: match file.desk.passcode_delays_s {
                    None => DEFAULT_PASSCODE_DELAYS_S.to_vec(),
                    Some(d)
                        if (1..=20).contains(&d.len())
                            && d.iter().all(|s| *s <= MAX_PASSCODE_DELAY_S) =>
                    {
                        d
                    }
                    Some(_) => {
                        return Err(ConfigError::Invalid {
                            field: "desk.passcode_delays_s",
                            detail: format!(
                                "1 to 20 numbers of seconds, each at most {MAX_PASSCODE_DELAY_S}"
                            ),
                        })
                    }
                },
                patient_display: file.desk.patient_display.unwrap_or(false),
                patient_display_position: match file.desk.patient_display_position {
                    Some(p) if !p.iter().all(|v| v.is_finite() && v.abs() <= 100_000.0) => {
                        return Err(ConfigError::Invalid {
                            field: "desk.patient_display_position",
                            detail: format!("{p:?} is not a position on a desktop"),
                        })
                    }
                    other => other,
                },
                printer: file.desk.printer,
                scale: match file.desk.scale {
                    Some(s) if !(0.8..=2.0).contains(&s) => {
                        return Err(ConfigError::Invalid {
                            field: "desk.scale",
                            detail: format!("{s} is not between 0.8 and 2.0"),
                        })
                    }
                    other => other,
                },
                result_timeout: match file.desk.result_timeout_s {
                    None => Duration::from_secs(DEFAULT_RESULT_TIMEOUT_S),
                    Some(s) if RESULT_TIMEOUT_RANGE_S.contains(&s) => Duration::from_secs(s),
                    Some(s) => {
                        return Err(ConfigError::Invalid {
                            field: "desk.result_timeout_s",
                            detail: format!("{s} is not between 10 and 3600"),
                        })
                    }
                },
            },
            journal: JournalConfig {
                path: file.journal.path.map(resolve),
                retention_days: match file.journal.retention_days {
                    None => DEFAULT_RETENTION_DAYS,
                    Some(d @ 1..=3650) => d,
                    Some(_) => {
                        return Err(ConfigError::Invalid {
                            field: "journal.retention_days",
                            detail: "must be 1 to 3650".into(),
                        })
                    }
                },
                csv_encoding: match file.journal.csv_encoding.as_deref() {
                    None => TextEncoding::default(),
                    Some(name) => {
                        TextEncoding::from_name(name).ok_or_else(|| ConfigError::Invalid {
                            field: "journal.csv_encoding",
                            detail: format!(
                                "{:?} is not one of utf-8-bom, shift_jis, utf-8",
                                crate::domain::text::for_display_limited(name, 40)
                            ),
                        })?
                    }
                },
                shared,
            },
            interop,
            public_expense: PublicExpenseConfig {
                table: file.public_expense.table.map(resolve),
            },
            path: path.to_owned(),
        })
    }
}

// ---- [public_expense]: the facility's 公費 rule table ---------------------------------------

/// Where the facility's 公費・医療費助成 rule table is (`domain::public_expense::table`).
#[derive(Clone, Debug, Default)]
pub struct PublicExpenseConfig {
    /// `None`: the table shipped with the desk (`assets/public_expense.toml`).
    pub table: Option<PathBuf>,
}

impl PublicExpenseConfig {
    /// Reads and validates the table. Read at start and when the settings change, never during
    /// a check: a broken file is reported once (desk message + log), and the desk then shows
    /// 公費 entries without computing a charge rather than guessing one.
    pub fn load_table(
        &self,
    ) -> Result<
        crate::domain::public_expense::table::BenefitTable,
        crate::domain::public_expense::table::TableError,
    > {
        use crate::domain::public_expense::table::{BenefitTable, TableError, MAX_TABLE_BYTES};
        let Some(path) = &self.table else {
            return Ok(BenefitTable::builtin());
        };
        let text =
            onshi_files::read_limited_to_string(path, MAX_TABLE_BYTES as u64).map_err(|e| {
                TableError {
                    problems: vec![e.to_string()],
                }
            })?;
        BenefitTable::parse(&text).map_err(|mut e| {
            e.problems
                .iter_mut()
                .for_each(|p| *p = format!("{}: {p}", path.display()));
            e
        })
    }
}

// ---- [interop]: the receipt computer's folders ---------------------------------------------

/// The receipt computer's file interface (レセコン連携, `crate::interop`,
/// `docs/receipt-computer.md`).
#[derive(Clone, Debug)]
pub struct InteropConfig {
    /// Off by default: a desk without a receipt computer writes no files.
    pub enabled: bool,
    /// The root holding `req`, `res`, `face` and `rejected` (often a shared folder). Empty
    /// when interop is off and no folder is set.
    pub folder: PathBuf,
    /// Encoding of the result files: Shift_JIS (default, as the national system's files) or
    /// UTF-8. Which one a receipt computer reads is unconfirmed, hence the setting.
    pub encoding: crate::domain::text::TextEncoding,
    /// This desk's name in `face` file names, so two desks never write the same name.
    pub desk_id: String,
    /// Largest request file read; a larger one is answered as unreadable.
    pub max_request_bytes: usize,
    /// How often the watcher looks into `req`.
    pub poll: Duration,
    /// The start of a `face` file's name (unconfirmed: public code watches
    /// `OQSsiquc01res_face_*.xml`).
    pub face_prefix: String,
    /// How long a request file must stay unchanged before the watcher takes it: a receipt
    /// computer may write straight into `req` without a temporary name (project's choice).
    pub settle: Duration,
    /// A claim of another desk untouched this long is taken back (its owner died).
    pub stale_claim: Duration,
}

/// `[interop] max_request_bytes` when not set: a real request is a few kilobytes; a batch of
/// hundreds of patients fits.
pub const DEFAULT_INTEROP_MAX_REQUEST_BYTES: usize = 1024 * 1024;
/// `[interop] poll_ms` when not set: a receipt computer waits about half a second at most.
pub const DEFAULT_INTEROP_POLL_MS: u64 = 500;
/// `[interop] face_prefix` when not set (unconfirmed, see [`InteropConfig::face_prefix`]).
pub const DEFAULT_FACE_PREFIX: &str = "OQSsiquc01res_face_";
/// `[interop] settle_ms` when not set.
pub const DEFAULT_INTEROP_SETTLE_MS: u64 = 200;
/// `[interop] stale_claim_s` when not set: well above the watcher's longest retry wait (60 s).
pub const DEFAULT_INTEROP_STALE_CLAIM_S: u64 = 600;
/// `[interop] desk_id` when not set and the host name is unusable.
pub const DEFAULT_DESK_ID: &str = "desk1";

/// Whether `s` may be part of a file name written into a shared folder and read by another
/// program: ASCII letters, digits, `-` and `_`, 1 to 64 characters (no folder walking, no
/// drive or device names, nothing a terminal interprets). The one rule for request ids,
/// desk ids and name prefixes.
pub fn is_safe_file_token(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// This machine's host name made safe for a file name, else [`DEFAULT_DESK_ID`].
pub fn default_desk_id() -> String {
    let host: String = gethostname::gethostname()
        .to_string_lossy()
        .split('.')
        .next()
        .unwrap_or_default()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .take(32)
        .collect();
    if is_safe_file_token(&host) {
        host
    } else {
        DEFAULT_DESK_ID.to_owned()
    }
}

impl Default for InteropConfig {
    fn default() -> Self {
        InteropConfig {
            enabled: false,
            folder: PathBuf::new(),
            encoding: crate::domain::text::TextEncoding::ShiftJis,
            desk_id: default_desk_id(),
            max_request_bytes: DEFAULT_INTEROP_MAX_REQUEST_BYTES,
            poll: Duration::from_millis(DEFAULT_INTEROP_POLL_MS),
            face_prefix: DEFAULT_FACE_PREFIX.to_owned(),
            settle: Duration::from_millis(DEFAULT_INTEROP_SETTLE_MS),
            stale_claim: Duration::from_secs(DEFAULT_INTEROP_STALE_CLAIM_S),
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct InteropFile {
    enabled: Option<bool>,
    folder: Option<PathBuf>,
    encoding: Option<String>,
    desk_id: Option<String>,
    max_request_bytes: Option<usize>,
    poll_ms: Option<u64>,
    face_prefix: Option<String>,
    settle_ms: Option<u64>,
    stale_claim_s: Option<u64>,
}

impl InteropConfig {
    /// Validates `[interop]`; relative folders are resolved like the other paths.
    fn parse(
        file: InteropFile,
        resolve: &dyn Fn(PathBuf) -> PathBuf,
    ) -> Result<InteropConfig, ConfigError> {
        use crate::domain::text::{for_display_limited, TextEncoding};
        let invalid = |field: &'static str, detail: String| ConfigError::Invalid { field, detail };
        let enabled = file.enabled.unwrap_or(false);
        let folder = match file.folder {
            Some(f) if !f.as_os_str().is_empty() => resolve(f),
            _ if enabled => {
                return Err(invalid(
                    "interop.folder",
                    "required when interop.enabled is true".into(),
                ))
            }
            _ => PathBuf::new(),
        };
        let encoding = match file.encoding.as_deref() {
            None => TextEncoding::ShiftJis,
            Some(name) => match TextEncoding::from_name(name) {
                Some(e @ (TextEncoding::ShiftJis | TextEncoding::Utf8)) => e,
                _ => {
                    return Err(invalid(
                        "interop.encoding",
                        format!(
                            "{:?} is not one of shift_jis, utf-8",
                            for_display_limited(name, 40)
                        ),
                    ))
                }
            },
        };
        let token = |field: &'static str, value: Option<String>, default: String| match value {
            None => Ok(default),
            Some(v) if is_safe_file_token(&v) => Ok(v),
            Some(v) => Err(invalid(
                field,
                format!(
                    "{:?}: only ASCII letters, digits, '-' and '_', 1 to 64 characters",
                    for_display_limited(&v, 40)
                ),
            )),
        };
        Ok(InteropConfig {
            enabled,
            folder,
            encoding,
            desk_id: token("interop.desk_id", file.desk_id, default_desk_id())?,
            max_request_bytes: match file.max_request_bytes {
                None => DEFAULT_INTEROP_MAX_REQUEST_BYTES,
                Some(n @ 1024..=67_108_864) => n,
                Some(_) => {
                    return Err(invalid(
                        "interop.max_request_bytes",
                        "must be 1024 to 67108864 (64 MiB)".into(),
                    ))
                }
            },
            poll: match file.poll_ms {
                None => Duration::from_millis(DEFAULT_INTEROP_POLL_MS),
                Some(ms @ 50..=60_000) => Duration::from_millis(ms),
                Some(_) => return Err(invalid("interop.poll_ms", "must be 50 to 60000".into())),
            },
            face_prefix: token(
                "interop.face_prefix",
                file.face_prefix,
                DEFAULT_FACE_PREFIX.to_owned(),
            )?,
            settle: match file.settle_ms {
                None => Duration::from_millis(DEFAULT_INTEROP_SETTLE_MS),
                Some(ms @ 0..=10_000) => Duration::from_millis(ms),
                Some(_) => return Err(invalid("interop.settle_ms", "must be 0 to 10000".into())),
            },
            stale_claim: match file.stale_claim_s {
                None => Duration::from_secs(DEFAULT_INTEROP_STALE_CLAIM_S),
                Some(s @ 120..=86_400) => Duration::from_secs(s),
                Some(_) => {
                    return Err(invalid(
                        "interop.stale_claim_s",
                        "must be 120 to 86400 (above the longest retry wait of 60 s)".into(),
                    ))
                }
            },
        })
    }
}

#[cfg(test)]
mod interop_tests {
    use super::*;
    use crate::domain::text::TextEncoding;

    const BASE: &str = "facility_code = \"1312345678\"\n[endpoint]\nurl = \"https://127.0.0.1:8443\"\nca = \"ca.pem\"\nclient_certificate = \"c.pem\"\nclient_key = \"k.pem\"\n";

    fn parse(interop: &str) -> Result<Config, ConfigError> {
        Config::parse(
            &format!("{BASE}[interop]\n{interop}\n"),
            Path::new("/srv/desk/config.toml"),
        )
    }

    #[test]
    fn interop_is_off_by_default_and_typed_when_on() {
        let c = Config::parse(BASE, Path::new("/srv/desk/config.toml")).expect("valid");
        assert!(!c.interop.enabled);
        assert_eq!(c.interop.encoding, TextEncoding::ShiftJis);
        assert!(is_safe_file_token(&c.interop.desk_id));
        let c = parse("enabled = true\nfolder = \"oqs\"\nencoding = \"UTF-8\"\ndesk_id = \"desk-2\"\npoll_ms = 200\nmax_request_bytes = 4096\nface_prefix = \"FACE_\"")
            .expect("valid");
        assert!(c.interop.enabled);
        assert_eq!(c.interop.folder, PathBuf::from("/srv/desk/oqs"));
        assert_eq!(c.interop.encoding, TextEncoding::Utf8);
        assert_eq!(c.interop.desk_id, "desk-2");
        assert_eq!(c.interop.poll, Duration::from_millis(200));
        assert_eq!(c.interop.max_request_bytes, 4096);
        assert_eq!(c.interop.face_prefix, "FACE_");
        // A UNC path written with slashes is absolute: kept as it is.
        let c = parse("enabled = true\nfolder = \"//server/oqs\"").expect("valid");
        assert_eq!(c.interop.folder, PathBuf::from("//server/oqs"));
    }

    #[test]
    fn bad_interop_settings_name_their_field() {
        for (text, field) in [
            ("enabled = true", "interop.folder"),
            ("encoding = \"utf-8-bom\"", "interop.encoding"),
            ("encoding = \"euc-jp\"", "interop.encoding"),
            ("desk_id = \"../x\"", "interop.desk_id"),
            ("face_prefix = \"a b\"", "interop.face_prefix"),
            ("poll_ms = 0", "interop.poll_ms"),
            ("max_request_bytes = 10", "interop.max_request_bytes"),
        ] {
            match parse(text) {
                Err(e @ ConfigError::Invalid { field: f, .. }) => {
                    assert_eq!(f, field, "{text}");
                    assert!(e.desk_message().contains(field), "{text}");
                }
                other => panic!("{text}: {other:?}"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
facility_code = "1312345678"
[endpoint]
url = "https://127.0.0.1:8443"
ca = "tls/server-ca.pem"
client_certificate = "/etc/onshi/facility.pem"
client_key = "tls/facility-key.pem"
[card]
grace_end = "from-expiry-date"
"#;

    #[test]
    fn parses_and_resolves_relative_paths() {
        let c = Config::parse(GOOD, Path::new("/srv/desk/config.toml")).expect("valid");
        assert_eq!(c.facility_code.as_str(), "1312345678");
        assert_eq!(c.endpoint.url, "https://127.0.0.1:8443/");
        assert_eq!(c.endpoint.ca, PathBuf::from("/srv/desk/tls/server-ca.pem"));
        assert_eq!(
            c.endpoint.client_certificate,
            PathBuf::from("/etc/onshi/facility.pem")
        );
        assert_eq!(c.endpoint.timeout, Duration::from_secs(10));
        assert_eq!(c.card.grace_end, GraceEnd::FromExpiryDate);
    }

    #[test]
    fn endpoint_paths_and_token_lifetime_default_and_are_checked() {
        let p = Path::new("/c.toml");
        let c = Config::parse(GOOD, p).expect("valid");
        assert_eq!(c.endpoint.login_path, DEFAULT_LOGIN_PATH);
        assert_eq!(c.endpoint.search_path, DEFAULT_SEARCH_PATH);
        assert_eq!(c.endpoint.challenge_path, DEFAULT_CHALLENGE_PATH);
        assert_eq!(c.endpoint.token_lifetime, Duration::from_secs(1800));
        let public = GOOD.replace(
            "[card]",
            "login_path = \"/oqs-api-pro/MSA12020/ILI12020SV01/auth\"\nsearch_path = \"/oqs-api-pro/MSA01030/ILI01030SV01/search\"\ntoken_lifetime_s = 600\n[card]",
        );
        let c = Config::parse(&public, p).expect("valid");
        assert_eq!(
            c.endpoint.login_path,
            "/oqs-api-pro/MSA12020/ILI12020SV01/auth"
        );
        assert_eq!(
            c.endpoint.search_path,
            "/oqs-api-pro/MSA01030/ILI01030SV01/search"
        );
        assert_eq!(c.endpoint.token_lifetime, Duration::from_secs(600));
        for (bad, field) in [
            ("login_path = \"auth\"", "endpoint.login_path"),
            ("search_path = \"//evil.example/x\"", "endpoint.search_path"),
            ("challenge_path = \"/c?x=1\"", "endpoint.challenge_path"),
            ("login_path = \"/a b\"", "endpoint.login_path"),
            ("login_path = \"/a\\r\\nX: y\"", "endpoint.login_path"),
            ("token_lifetime_s = 59", "endpoint.token_lifetime_s"),
            ("token_lifetime_s = 86401", "endpoint.token_lifetime_s"),
        ] {
            let text = GOOD.replace("[card]", &format!("{bad}\n[card]"));
            match Config::parse(&text, p) {
                Err(ConfigError::Invalid { field: f, .. }) => assert_eq!(f, field, "{bad}"),
                other => panic!("{bad}: {other:?}"),
            }
        }
    }

    #[test]
    fn the_csv_encoding_defaults_to_utf8_with_bom_and_is_checked() {
        let c = Config::parse(GOOD, Path::new("/c.toml")).expect("valid");
        assert_eq!(c.journal.csv_encoding, TextEncoding::Utf8Bom);
        let text = format!("{GOOD}\n[journal]\ncsv_encoding = \"shift_jis\"\n");
        let c = Config::parse(&text, Path::new("/c.toml")).expect("valid");
        assert_eq!(c.journal.csv_encoding, TextEncoding::ShiftJis);
        let text = format!("{GOOD}\n[journal]\ncsv_encoding = \"latin1\"\n");
        assert!(Config::parse(&text, Path::new("/c.toml")).is_err());
    }

    #[test]
    fn a_shared_journal_needs_its_ca_keeps_its_password_out_of_the_url_and_names_the_desk() {
        let p = Path::new("/srv/desk/config.toml");
        let c = Config::parse(GOOD, p).expect("valid");
        assert!(c.journal.shared.is_none(), "SQLite alone by default");
        let text = format!(
            "{GOOD}\n[journal]\nurl = \"postgres://onshi@db.lan:5432/onshi?sslmode=require\"\npassword_file = \"pw.txt\"\nca = \"db-ca.pem\"\n"
        );
        let c = Config::parse(&text, p).expect("valid");
        let shared = c.journal.shared.expect("shared");
        assert_eq!(shared.ca, PathBuf::from("/srv/desk/db-ca.pem"));
        assert!(
            matches!(&shared.password, Some(SharedPassword::File(f)) if f == Path::new("/srv/desk/pw.txt"))
        );
        assert_eq!(
            shared.desk_id, c.interop.desk_id,
            "the desk's interop name by default"
        );
        assert_eq!(shared.redacted(), "postgres://onshi@db.lan:5432/onshi");
        let text = format!(
            "{GOOD}\n[journal]\nurl = \"postgresql://onshi@db.lan/onshi\"\npassword = \"s3cret\"\nca = \"ca.pem\"\ndesk_id = \"uketsuke-2\"\n"
        );
        let shared = Config::parse(&text, p)
            .expect("valid")
            .journal
            .shared
            .expect("shared");
        assert_eq!(shared.desk_id, "uketsuke-2");
        assert!(
            !format!("{shared:?}").contains("s3cret"),
            "Debug hides the password"
        );
        for (bad, field) in [
            ("url = \"postgres://onshi:s3cret@db.lan/onshi\"\nca = \"c.pem\"", "journal.url"),
            ("url = \"mysql://db.lan/onshi\"\nca = \"c.pem\"", "journal.url"),
            ("url = \"postgres://\"\nca = \"c.pem\"", "journal.url"),
            ("url = \"postgres://db.lan/onshi\"", "journal.ca"),
            ("ca = \"c.pem\"", "journal.url"),
            (
                "url = \"postgres://db.lan/o\"\nca = \"c.pem\"\npassword = \"a\"\npassword_file = \"f\"",
                "journal.password",
            ),
            ("url = \"postgres://db.lan/o\"\nca = \"c.pem\"\ndesk_id = \"a/b\"", "journal.desk_id"),
        ] {
            let text = format!("{GOOD}\n[journal]\n{bad}\n");
            match Config::parse(&text, p) {
                Err(ConfigError::Invalid { field: f, detail }) => {
                    assert_eq!(f, field, "{bad}");
                    assert!(!detail.contains("s3cret"), "{detail}");
                }
                other => panic!("{bad}: {other:?}"),
            }
        }
    }

    #[test]
    fn the_journal_section_resolves_its_path_and_checks_retention() {
        let c = Config::parse(GOOD, Path::new("/srv/desk/config.toml")).expect("valid");
        assert_eq!(c.journal.path, None);
        assert_eq!(c.journal.retention_days, DEFAULT_RETENTION_DAYS);
        let text = format!("{GOOD}\n[journal]\npath = \"data/j.sqlite3\"\nretention_days = 10\n");
        let c = Config::parse(&text, Path::new("/srv/desk/config.toml")).expect("valid");
        assert_eq!(c.journal.path(), PathBuf::from("/srv/desk/data/j.sqlite3"));
        assert_eq!(c.journal.retention_days, 10);
        for bad in ["retention_days = 0", "other = 1"] {
            let text = format!("{GOOD}\n[journal]\n{bad}\n");
            assert!(Config::parse(&text, Path::new("/c.toml")).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_url_scheme_is_case_insensitive_and_normalised() {
        let p = Path::new("/c.toml");
        for scheme in ["HTTPS://", "Https://"] {
            let c = Config::parse(&GOOD.replace("https://", scheme), p).expect(scheme);
            assert_eq!(c.endpoint.url, "https://127.0.0.1:8443/", "{scheme}");
        }
        for scheme in ["HTTP://", "httpsx://", "https:/"] {
            assert!(
                Config::parse(&GOOD.replace("https://", scheme), p).is_err(),
                "{scheme}"
            );
        }
    }

    #[test]
    fn plain_http_unknown_keys_and_zero_timeouts_are_refused() {
        let p = Path::new("/c.toml");
        let http = GOOD.replace("https://", "http://");
        assert!(matches!(
            Config::parse(&http, p),
            Err(ConfigError::Invalid {
                field: "endpoint.url",
                ..
            })
        ));
        let unknown = format!("{GOOD}\n[extra]\nx = 1\n");
        assert!(matches!(
            Config::parse(&unknown, p),
            Err(ConfigError::Syntax { .. })
        ));
        let zero = GOOD.replace("[card]", "timeout_ms = 0\n[card]");
        assert!(matches!(
            Config::parse(&zero, p),
            Err(ConfigError::Invalid {
                field: "endpoint.timeout_ms",
                ..
            })
        ));
        let bad_code = GOOD.replace("1312345678", "99");
        let e = Config::parse(&bad_code, p).expect_err("bad code");
        assert!(e.desk_message().contains("facility_code"));
    }

    #[test]
    fn the_passcode_is_kept_hashed_and_checked() {
        let hash = PasscodeHash::new("4321", b"0123456789").expect("4 digits");
        let line = hash.to_string();
        assert!(line.starts_with("sha256:30313233343536373839:"));
        assert!(!line.contains("4321"));
        let text =
            format!("{GOOD}\n[desk]\nfacility_name = \"オンシ診療所\"\npasscode = \"{line}\"\n");
        let c = Config::parse(&text, Path::new("/c.toml")).expect("valid");
        let parsed = c.desk.passcode.expect("passcode");
        assert!(parsed.matches("4321"));
        assert!(!parsed.matches("1234"));
        assert_eq!(c.desk.facility_name.as_deref(), Some("オンシ診療所"));
        for bad in [
            "4321",
            "sha256:zz:00",
            "sha256:3031323334353637:abcd",
            "md5:1:2",
        ] {
            let text = format!("{GOOD}\n[desk]\npasscode = \"{bad}\"\n");
            assert!(
                matches!(
                    Config::parse(&text, Path::new("/c.toml")),
                    Err(ConfigError::Invalid {
                        field: "desk.passcode",
                        ..
                    })
                ),
                "{bad}"
            );
        }
        assert!(PasscodeHash::new("12345", b"01234567").is_err());
    }

    #[test]
    fn the_settings_passcode_and_the_patient_display_are_read() {
        let p = Path::new("/c.toml");
        let c = Config::parse(GOOD, p).expect("valid");
        assert!(c.desk.settings_passcode.is_none());
        assert!(!c.desk.patient_display, "one window by default");
        assert_eq!(c.desk.passcode_delays_s, DEFAULT_PASSCODE_DELAYS_S);
        let text = format!("{GOOD}\n[desk]\npasscode_delays_s = [0, 30]\n");
        let c = Config::parse(&text, p).expect("valid");
        assert_eq!(c.desk.passcode_delays_s, [0, 30]);
        for bad in ["[]", "[0, 7200]", "[-1]"] {
            let text = format!("{GOOD}\n[desk]\npasscode_delays_s = {bad}\n");
            assert!(Config::parse(&text, p).is_err(), "{bad}");
        }
        let c = Config::parse(GOOD, p).expect("valid");
        assert_eq!(c.desk.patient_display_position, None);
        let line = PasscodeHash::new("8642", b"01234567").expect("4 digits");
        let text = format!(
            "{GOOD}\n[desk]\nsettings_passcode = \"{line}\"\npatient_display = true\npatient_display_position = [1920, 0]\n"
        );
        let c = Config::parse(&text, p).expect("valid");
        assert!(c.desk.settings_passcode.is_some_and(|h| h.matches("8642")));
        assert!(c.desk.passcode.is_none());
        assert!(c.desk.patient_display);
        assert_eq!(c.desk.patient_display_position, Some([1920.0, 0.0]));
        let text = format!("{GOOD}\n[desk]\nsettings_passcode = \"8642\"\n");
        assert!(matches!(
            Config::parse(&text, p),
            Err(ConfigError::Invalid {
                field: "desk.settings_passcode",
                ..
            })
        ));
        let text = format!("{GOOD}\n[desk]\npatient_display_position = [1e9, 0]\n");
        assert!(matches!(
            Config::parse(&text, p),
            Err(ConfigError::Invalid {
                field: "desk.patient_display_position",
                ..
            })
        ));
    }

    #[test]
    fn a_missing_file_says_where_it_looked() {
        let e = Config::load(Some(Path::new("/nonexistent/onshi.toml"))).expect_err("missing");
        assert!(matches!(e, ConfigError::Missing(_)));
        assert!(e.desk_message().contains("/nonexistent/onshi.toml"));
    }
}
