//! Staff settings (設定, behind the facility passcode): the configuration file as a form.
//!
//! Saving edits the file as it is on disk ([`SettingsForm::edit`], a `toml_edit` document):
//! only the keys the form shows are set, so sections and keys it does not show (`[journal]`
//! above all: where the queued 事後確認 records are) and every comment survive a save. The
//! result is parsed by the very parser the app starts with ([`Config::parse`]), so the desk can
//! never save a file it would refuse to start on. The file is written by a worker
//! (`Request::SaveSettings`), atomically.

use std::path::{Path, PathBuf};

use crate::config::{unreadable_file_message, Config, PasscodeHash, MAX_CONFIG_BYTES};
use crate::domain::expiry::GraceEnd;

/// The settings as typed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SettingsForm {
    pub path: PathBuf,
    pub facility_code: String,
    pub facility_name: String,
    pub url: String,
    pub ca: String,
    pub client_certificate: String,
    pub client_key: String,
    pub connect_timeout_ms: String,
    pub timeout_ms: String,
    pub reader: String,
    pub printer: String,
    pub grace_end: GraceEnd,
    pub scale: String,
    /// Seconds an unattended result stays on screen (`[desk] result_timeout_s`).
    pub result_timeout_s: String,
    /// A new facility passcode (4 digits); empty keeps the current one.
    pub new_passcode: String,
    /// The current passcode line, kept unless a new one is typed.
    pub passcode_line: Option<String>,
    /// A new settings passcode (設定用パスコード, 4 digits); empty keeps the current one.
    pub new_settings_passcode: String,
    /// The current settings passcode line, kept unless a new one is typed.
    pub settings_passcode_line: Option<String>,
    /// The patient window on a second display (`[desk] patient_display`).
    pub patient_display: bool,
    /// Where it opens, as typed: `1920, 0`; empty: wherever the window system puts it.
    pub patient_display_position: String,
    /// The receipt computer's folders (`[interop] enabled`).
    pub interop_enabled: bool,
    /// The folder holding `req`, `res`, `face` (`[interop] folder`), as typed.
    pub interop_folder: String,
    /// Result files in UTF-8 instead of Shift_JIS (`[interop] encoding`).
    pub interop_utf8: bool,
    /// The outcome of the last save: `Ok(note)` or `Err(problem)`, for the desk.
    pub outcome: Option<Result<String, String>>,
}

fn path_text(p: &std::path::Path) -> String {
    p.display().to_string()
}

impl SettingsForm {
    /// The form for the configuration in use.
    pub fn from_config(c: &Config) -> SettingsForm {
        SettingsForm {
            path: c.path.clone(),
            facility_code: c.facility_code.as_str().to_owned(),
            facility_name: c.desk.facility_name.clone().unwrap_or_default(),
            url: c.endpoint.url.clone(),
            ca: path_text(&c.endpoint.ca),
            client_certificate: path_text(&c.endpoint.client_certificate),
            client_key: path_text(&c.endpoint.client_key),
            connect_timeout_ms: c.endpoint.connect_timeout.as_millis().to_string(),
            timeout_ms: c.endpoint.timeout.as_millis().to_string(),
            reader: c.card.reader.clone().unwrap_or_default(),
            printer: c.desk.printer.clone().unwrap_or_default(),
            grace_end: c.card.grace_end,
            scale: c.desk.scale.map(|s| s.to_string()).unwrap_or_default(),
            result_timeout_s: c.desk.result_timeout.as_secs().to_string(),
            new_passcode: String::new(),
            passcode_line: c.desk.passcode.as_ref().map(|p| p.to_string()),
            new_settings_passcode: String::new(),
            settings_passcode_line: c.desk.settings_passcode.as_ref().map(|p| p.to_string()),
            patient_display: c.desk.patient_display,
            patient_display_position: c
                .desk
                .patient_display_position
                .map(|[x, y]| format!("{x}, {y}"))
                .unwrap_or_default(),
            interop_enabled: c.interop.enabled,
            interop_folder: path_text(&c.interop.folder),
            interop_utf8: c.interop.encoding == crate::domain::text::TextEncoding::Utf8,
            outcome: None,
        }
    }

    /// An empty form for a desk without a configuration yet.
    pub fn empty(path: PathBuf) -> SettingsForm {
        SettingsForm {
            path,
            connect_timeout_ms: "3000".into(),
            timeout_ms: "10000".into(),
            result_timeout_s: crate::config::DEFAULT_RESULT_TIMEOUT_S.to_string(),
            ..SettingsForm::default()
        }
    }

    /// The configuration text and the parsed configuration, or what is wrong (Japanese for
    /// the desk, with the field).
    ///
    /// The text is the file as it is on disk now with only the form's keys edited (see
    /// [`SettingsForm::edit`]): the form has no `[journal]` fields, and rebuilding the file
    /// from the form would move the journal back to its default place, away from the queued
    /// 事後確認 records.
    pub fn validate(&self, salt: &[u8]) -> Result<(String, Config), String> {
        // Every problem at once, one per line, in the form's words: staff fix them in one go.
        let problems = self.problems();
        if !problems.is_empty() {
            return Err(problems.join("\n"));
        }
        let current = read_current(&self.path)?;
        let text = self.edit(current.as_deref(), salt)?;
        // The checks above mirror the parser's; should it still refuse, the setting is named
        // by its label, never by its key (the English detail goes to the log).
        let config = Config::parse(&text, &self.path).map_err(|e| {
            tracing::warn!(error = %e, "settings refused by the configuration parser");
            match &e {
                crate::config::ConfigError::Invalid { field, .. } => {
                    format!("「{}」の値が正しくありません。", label_of(field))
                }
                _ => e.desk_message(),
            }
        })?;
        Ok((text, config))
    }

    /// What is wrong with the form, every problem, in Japanese with the field's label (never
    /// a configuration key): the parser's own rules ([`Config::parse`]) checked field by
    /// field, and the certificate files, which must be there (a desk that cannot start its
    /// client after a restart is worse than one that refuses the change now).
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if crate::domain::FacilityCode::parse(self.facility_code.trim()).is_err() {
            problems.push(
                "「医療機関コード」は都道府県番号から始まる10桁の数字で入力してください。"
                    .to_owned(),
            );
        }
        let url = self.url.trim();
        if !url
            .get(..8)
            .is_some_and(|scheme| scheme.eq_ignore_ascii_case("https://"))
        {
            problems
                .push("「資格確認の接続先」は https:// で始まるURLを入力してください。".to_owned());
        }
        let base = self.path.parent().unwrap_or(Path::new("."));
        for (label, path) in [
            ("サーバーCA証明書", &self.ca),
            ("クライアント証明書", &self.client_certificate),
            ("クライアント秘密鍵", &self.client_key),
        ] {
            let path = base.join(path.trim());
            // The same rule the client applies when it reads them: a regular file within
            // the PEM limit (a device or FIFO would exhaust memory or hang the desk).
            match std::fs::metadata(&path) {
                Err(_) => problems.push(format!(
                    "{label}のファイルが見つかりません: {}",
                    path.display()
                )),
                Ok(m) if !m.is_file() => problems.push(format!(
                    "{label}に指定されたものは通常のファイルではありません: {}",
                    path.display()
                )),
                Ok(m) if m.len() > crate::config::MAX_PEM_BYTES => problems.push(format!(
                    "{label}のファイルが大きすぎます({} バイトまで): {}",
                    crate::config::MAX_PEM_BYTES,
                    path.display()
                )),
                Ok(_) => {}
            }
        }
        for (label, value) in [
            ("接続タイムアウト", &self.connect_timeout_ms),
            ("応答タイムアウト", &self.timeout_ms),
        ] {
            if !value
                .trim()
                .parse::<u64>()
                .is_ok_and(|ms| (1..=600_000).contains(&ms))
            {
                problems.push(format!(
                    "「{label}」は 1〜600000 (ミリ秒) の数字で入力してください。"
                ));
            }
        }
        let scale = self.scale.trim();
        if !scale.is_empty() && !scale.parse::<f32>().is_ok_and(|s| (0.8..=2.0).contains(&s)) {
            problems
                .push("「文字の大きさ」は 0.8〜2.0 の数字(例 1.2)で入力してください。".to_owned());
        }
        let timeout = self.result_timeout_s.trim();
        if !timeout.is_empty()
            && !timeout
                .parse::<u64>()
                .is_ok_and(|s| crate::config::RESULT_TIMEOUT_RANGE_S.contains(&s))
        {
            problems.push(
                "「結果を自動で閉じるまで」は 10〜3600 (秒) の数字で入力してください。".to_owned(),
            );
        }
        if self.interop_enabled && self.interop_folder.trim().is_empty() {
            problems.push(
                "レセコン連携を使うときは「レセコン連携フォルダ」を入力してください。".to_owned(),
            );
        }
        let passcode = self.new_passcode.trim();
        if !passcode.is_empty()
            && (passcode.len() != 4 || !passcode.bytes().all(|b| b.is_ascii_digit()))
        {
            problems.push("施設パスコードは数字4桁で入力してください。".to_owned());
        }
        problems
    }

    /// `current` (the configuration file's text, `None` when there is none yet) with the
    /// form's keys set and nothing else touched: other sections and keys, comments, the
    /// order and the spelling of values stay as they are. A form value that means what the
    /// file already says is not rewritten, so a relative path stays relative and
    /// `15_000` stays `15_000`; an emptied optional field removes its key; the passcode is
    /// the new one typed, else the one in use.
    pub fn edit(&self, current: Option<&str>, salt: &[u8]) -> Result<String, String> {
        let unreadable = |detail: String| {
            tracing::error!(path = %self.path.display(), %detail, "settings: the configuration file is not editable");
            format!(
                "今の設定ファイルを読み取れないため、保存しませんでした(設定を失わないため)。システム担当者に設定ファイルの修正を依頼してください: {}",
                self.path.display()
            )
        };
        let mut doc = match current {
            None => toml_edit::DocumentMut::new(),
            Some(text) => text
                .parse::<toml_edit::DocumentMut>()
                .map_err(|e| unreadable(e.to_string()))?,
        };
        // What the file means now, as the form would show it: the keys whose meaning the
        // form leaves unchanged are not rewritten.
        let shown = current
            .and_then(|text| Config::parse(text, &self.path).ok())
            .map(|c| SettingsForm::from_config(&c));
        let same = |pick: fn(&SettingsForm) -> &str| {
            shown
                .as_ref()
                .is_some_and(|s| pick(s).trim() == pick(self).trim())
        };
        let number = |label: &str, s: &str| -> Result<toml_edit::Value, String> {
            s.trim()
                .parse::<i64>()
                .map(toml_edit::Value::from)
                .map_err(|_| format!("「{label}」は数字で入力してください。"))
        };
        let text = |s: &str| Some(toml_edit::Value::from(s.trim()));
        let optional = |s: &str| (!s.trim().is_empty()).then(|| toml_edit::Value::from(s.trim()));
        let scale = match self.scale.trim() {
            "" => None,
            s => Some(toml_edit::Value::from(s.parse::<f64>().map_err(|_| {
                "「文字の大きさ」は 1.2 のように数字で入力してください。".to_owned()
            })?)),
        };
        let position = match self.patient_display_position.trim() {
            "" => None,
            typed => Some(position_value(typed).ok_or_else(|| {
                "「お客様用画面の位置」は 1920, 0 のように数字2つで入力してください。".to_owned()
            })?),
        };
        let grace_end = match self.grace_end {
            GraceEnd::EndOfMonth => "end-of-month",
            GraceEnd::FromExpiryDate => "from-expiry-date",
        };
        // (section, key, the form's value, whether the file already means it)
        let edits = [
            (
                None,
                "facility_code",
                text(&self.facility_code),
                same(|f| &f.facility_code),
            ),
            (Some("endpoint"), "url", text(&self.url), same(|f| &f.url)),
            (Some("endpoint"), "ca", text(&self.ca), same(|f| &f.ca)),
            (
                Some("endpoint"),
                "client_certificate",
                text(&self.client_certificate),
                same(|f| &f.client_certificate),
            ),
            (
                Some("endpoint"),
                "client_key",
                text(&self.client_key),
                same(|f| &f.client_key),
            ),
            (
                Some("endpoint"),
                "connect_timeout_ms",
                Some(number("接続タイムアウト", &self.connect_timeout_ms)?),
                same(|f| &f.connect_timeout_ms),
            ),
            (
                Some("endpoint"),
                "timeout_ms",
                Some(number("応答タイムアウト", &self.timeout_ms)?),
                same(|f| &f.timeout_ms),
            ),
            (
                Some("card"),
                "reader",
                optional(&self.reader),
                same(|f| &f.reader),
            ),
            (
                Some("card"),
                "grace_end",
                text(grace_end),
                shown
                    .as_ref()
                    .is_some_and(|s| s.grace_end == self.grace_end),
            ),
            (
                Some("desk"),
                "facility_name",
                optional(&self.facility_name),
                same(|f| &f.facility_name),
            ),
            (
                Some("desk"),
                "printer",
                optional(&self.printer),
                same(|f| &f.printer),
            ),
            (Some("desk"), "scale", scale, same(|f| &f.scale)),
            (
                Some("desk"),
                "result_timeout_s",
                match self.result_timeout_s.trim() {
                    "" => None,
                    s => Some(number("結果を自動で閉じるまで", s)?),
                },
                same(|f| &f.result_timeout_s),
            ),
            (
                Some("desk"),
                "patient_display",
                self.patient_display.then(|| toml_edit::Value::from(true)),
                shown
                    .as_ref()
                    .is_some_and(|s| s.patient_display == self.patient_display),
            ),
            (
                Some("desk"),
                "patient_display_position",
                position,
                same(|f| &f.patient_display_position),
            ),
            (
                Some("interop"),
                "enabled",
                self.interop_enabled.then(|| toml_edit::Value::from(true)),
                shown
                    .as_ref()
                    .is_some_and(|s| s.interop_enabled == self.interop_enabled),
            ),
            (
                Some("interop"),
                "folder",
                optional(&self.interop_folder),
                same(|f| &f.interop_folder),
            ),
            (
                Some("interop"),
                "encoding",
                self.interop_utf8.then(|| toml_edit::Value::from("utf-8")),
                shown
                    .as_ref()
                    .is_some_and(|s| s.interop_utf8 == self.interop_utf8),
            ),
        ];
        for (section, key, value, same) in edits {
            if !same {
                set(&mut doc, section, key, value).map_err(&unreadable)?;
            }
        }
        // The passcodes: a new one typed, else the one in use (the form cannot remove one).
        let facility = passcode_edit(
            &self.new_passcode,
            &self.passcode_line,
            shown.as_ref().and_then(|s| s.passcode_line.as_ref()),
            salt,
            "施設パスコードは数字4桁で入力してください。",
        )?;
        let settings = passcode_edit(
            &self.new_settings_passcode,
            &self.settings_passcode_line,
            shown
                .as_ref()
                .and_then(|s| s.settings_passcode_line.as_ref()),
            salt,
            "設定用パスコードは数字4桁で入力してください。",
        )?;
        // The settings passcode exists so that the code typed in view of patients does not
        // open the settings: the same code would defeat it.
        let new_settings = crate::domain::text::normalize_width(&self.new_settings_passcode);
        let facility_in_use = facility
            .as_deref()
            .or(self.passcode_line.as_deref())
            .and_then(|line| PasscodeHash::parse(line).ok());
        if !new_settings.is_empty() && facility_in_use.is_some_and(|f| f.matches(&new_settings)) {
            return Err(
                "設定用パスコードは施設パスコード(目視確認用)と別の番号にしてください。".into(),
            );
        }
        for (key, line) in [("passcode", facility), ("settings_passcode", settings)] {
            if let Some(line) = line {
                set(&mut doc, Some("desk"), key, Some(line.into())).map_err(&unreadable)?;
            }
        }
        Ok(doc.to_string())
    }
}

/// The form's label for a configuration key, for the rare problem only the parser finds.
fn label_of(field: &str) -> &'static str {
    match field {
        "facility_code" => "医療機関コード",
        "endpoint.url" => "資格確認の接続先",
        "endpoint.connect_timeout_ms" => "接続タイムアウト",
        "endpoint.timeout_ms" => "応答タイムアウト",
        "desk.scale" => "文字の大きさ",
        "desk.passcode" => "施設パスコード",
        "desk.result_timeout_s" => "結果を自動で閉じるまで",
        "desk.settings_passcode" => "設定用パスコード",
        "desk.passcode_delays_s" => "パスコードを間違えたときの待ち時間",
        "desk.patient_display" | "desk.patient_display_position" => "お客様用画面",
        f if f.starts_with("interop.") => "レセコン連携",
        f if f.starts_with("endpoint.") => "証明書のファイル",
        _ => "設定",
    }
}

/// The passcode line to write: the hash of a new code typed, else the line in use when the
/// file does not already hold it; `None` leaves the file's key as it is.
fn passcode_edit(
    typed: &str,
    in_use: &Option<String>,
    in_file: Option<&String>,
    salt: &[u8],
    problem: &str,
) -> Result<Option<String>, String> {
    // Typed through a Japanese IME, digits may come full-width.
    let typed = crate::domain::text::normalize_width(typed);
    if typed.is_empty() {
        return Ok(in_use.clone().filter(|line| in_file != Some(line)));
    }
    let hash = PasscodeHash::new(&typed, salt).map_err(|_| problem.to_owned())?;
    Ok(Some(hash.to_string()))
}

/// `1920, 0` (full-width digits and comma too) as a TOML array of two numbers.
fn position_value(typed: &str) -> Option<toml_edit::Value> {
    let typed = crate::domain::text::normalize_width(typed);
    let mut parts = typed.split([',', ' ']).filter(|p| !p.is_empty());
    let mut number = || -> Option<f64> {
        let v: f64 = parts.next()?.parse().ok()?;
        v.is_finite().then_some(v)
    };
    let (x, y) = (number()?, number()?);
    if parts.next().is_some() {
        return None;
    }
    let whole = |v: f64| {
        if v.fract() == 0.0 && v.abs() < 1e9 {
            toml_edit::Value::from(v as i64)
        } else {
            toml_edit::Value::from(v)
        }
    };
    Some(toml_edit::Value::Array(
        [whole(x), whole(y)].into_iter().collect(),
    ))
}

/// The configuration file's text now, `None` when there is none yet; read with the same
/// bound as at start. Any other failure refuses the save: a file that cannot be read cannot
/// be edited without losing what the form does not show.
fn read_current(path: &Path) -> Result<Option<String>, String> {
    match onshi_files::read_limited_to_string(path, MAX_CONFIG_BYTES) {
        Ok(text) => Ok(Some(text)),
        Err(onshi_files::ReadError::Io { source, .. })
            if source.kind() == std::io::ErrorKind::NotFound =>
        {
            Ok(None)
        }
        Err(e) => {
            tracing::error!(path = %path.display(), error = %e, "settings: cannot read the configuration file");
            Err(format!(
                "今の設定ファイルを読み取れないため、保存しませんでした(設定を失わないため)。{}",
                unreadable_file_message(&e, path)
            ))
        }
    }
}

/// Sets `key` in `section` (the top level when `None`) to `value`, or removes it when
/// `value` is `None`. A replaced value keeps its comment and spacing; a missing section is
/// added at the end. A section that is not a table (`endpoint = 3`) is an error, not a panic.
fn set(
    doc: &mut toml_edit::DocumentMut,
    section: Option<&str>,
    key: &str,
    value: Option<toml_edit::Value>,
) -> Result<(), String> {
    let table: &mut dyn toml_edit::TableLike = match section {
        None => doc.as_table_mut(),
        Some(name) => {
            if value.is_none() && !doc.contains_key(name) {
                return Ok(());
            }
            doc.as_table_mut()
                .entry(name)
                .or_insert_with(toml_edit::table)
                .as_table_like_mut()
                .ok_or_else(|| format!("[{name}] is not a table"))?
        }
    };
    match (value, table.get_mut(key)) {
        (None, _) => {
            table.remove(key);
        }
        (Some(mut value), Some(toml_edit::Item::Value(old))) => {
            *value.decor_mut() = old.decor().clone();
            *old = value;
        }
        (Some(value), _) => {
            table.insert(key, toml_edit::Item::Value(value));
        }
    }
    Ok(())
}

/// Writes the configuration text the form produced, for `Request::SaveSettings`.
///
/// Owner-only (0600; a new folder 0700): the file holds the facility passcode hash and the
/// path of the facility's private key. Atomic through a fresh temporary file created
/// exclusively, so a crash never leaves half a configuration and a link planted beside it is
/// never followed. The error is the desk message (the detail is logged).
pub fn save(path: &std::path::Path, text: &str) -> Result<(), String> {
    let write = || -> std::io::Result<()> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            onshi_files::create_private_dir_all(dir)?;
        }
        onshi_files::write_atomic(path, text.as_bytes(), onshi_files::Access::Private)
    };
    write().map_err(|e| {
        tracing::error!(path = %path.display(), error = %e, "settings not saved");
        format!(
            "設定ファイルを保存できませんでした({}): {e}",
            path.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(dir: &std::path::Path) -> SettingsForm {
        for f in ["ca.pem", "cert.pem", "key.pem"] {
            std::fs::write(dir.join(f), "x").expect("write");
        }
        SettingsForm {
            facility_code: "１３１２３４５６７８".into(),
            facility_name: "オンシ診療所 \"本院\"".into(),
            url: "https://10.0.0.1:8443".into(),
            ca: "ca.pem".into(),
            client_certificate: "cert.pem".into(),
            client_key: dir.join("key.pem").display().to_string(),
            printer: "reception".into(),
            scale: "1.2".into(),
            new_passcode: "4321".into(),
            ..SettingsForm::empty(dir.join("config.toml"))
        }
    }

    /// A configuration as staff and installers write it: comments everywhere, relative
    /// paths, a journal section the form does not show, default timeouts left out.
    const FULL: &str = r#"# Reception desk, counter 2 (installed 2026-04-01)
facility_code = "1312345678"  # 医療機関コード

# The online qualification service
[endpoint]
url = "https://10.0.0.1:8443/"
ca = "tls/server-ca.pem"           # the only CA trusted
client_certificate = "tls/facility.pem"
client_key = "tls/facility-key.pem"
timeout_ms = 15_000

[card]
reader = "SONY FeliCa"
grace_end = "from-expiry-date"

[desk]
facility_name = "オンシ診療所"
printer = "reception-a4"           # CUPS queue at the counter
passcode = "sha256:30313233343536373839:5f0e1c3a0d5e2f6a7b8c9d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c"
scale = 1.25

# 受付記録: the queued 事後確認 records live here
[journal]
path = "/srv/onshi/journal.sqlite3"   # on the backed-up disk
retention_days = 60
"#;

    /// `text` written as `config.toml` in `dir` with the TLS files it names.
    fn config_file(dir: &std::path::Path, text: &str) -> Config {
        std::fs::create_dir_all(dir.join("tls")).expect("tls folder");
        for f in ["server-ca.pem", "facility.pem", "facility-key.pem"] {
            std::fs::write(dir.join("tls").join(f), "x").expect("write");
        }
        let path = dir.join("config.toml");
        std::fs::write(&path, text).expect("config");
        Config::load(Some(&path)).expect("the configuration loads")
    }

    #[test]
    fn a_save_keeps_every_section_key_and_comment_it_does_not_edit() {
        let dir = tempfile::tempdir().expect("tmp");
        let config = config_file(dir.path(), FULL);
        // Nothing changed: the file is saved exactly as it was.
        let form = SettingsForm::from_config(&config);
        let (text, _) = form.validate(b"01234567").expect("valid");
        assert_eq!(text, FULL);
        // Only the printer changed: only the printer's value changes, its comment stays.
        let mut form = SettingsForm::from_config(&config);
        form.printer = "back-office".into();
        let (text, parsed) = form.validate(b"01234567").expect("valid");
        assert_eq!(
            text,
            FULL.replace("\"reception-a4\"", "\"back-office\""),
            "only the edited key changes"
        );
        save(&config.path, &text).expect("saved");
        let again = Config::load(Some(&config.path)).expect("loads after the save");
        assert_eq!(
            again.journal.path,
            Some(std::path::PathBuf::from("/srv/onshi/journal.sqlite3"))
        );
        assert_eq!(again.journal.retention_days, 60);
        assert_eq!(again.desk.printer.as_deref(), Some("back-office"));
        assert_eq!(parsed.desk.printer.as_deref(), Some("back-office"));
        assert_eq!(again.endpoint.ca, dir.path().join("tls/server-ca.pem"));
    }

    #[test]
    fn a_save_of_several_edits_changes_only_those_keys() {
        let dir = tempfile::tempdir().expect("tmp");
        let config = config_file(dir.path(), FULL);
        let mut form = SettingsForm::from_config(&config);
        form.printer = String::new();
        form.scale = "1.5".into();
        form.reader = "ACS".into();
        form.connect_timeout_ms = "2000".into();
        form.timeout_ms = "15000".into();
        form.new_passcode = "4321".into();
        let (text, parsed) = form.validate(b"01234567").expect("valid");
        let hash = parsed.desk.passcode.as_ref().expect("passcode").to_string();
        let expected = FULL
            .replace(
                "printer = \"reception-a4\"           # CUPS queue at the counter\n",
                "",
            )
            .replace("scale = 1.25", "scale = 1.5")
            .replace("\"SONY FeliCa\"", "\"ACS\"")
            .replace(
                "timeout_ms = 15_000\n",
                "timeout_ms = 15_000\nconnect_timeout_ms = 2000\n",
            )
            .replace(
                "sha256:30313233343536373839:5f0e1c3a0d5e2f6a7b8c9d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c",
                &hash,
            );
        assert_eq!(text, expected);
        assert!(parsed.desk.passcode.is_some_and(|p| p.matches("4321")));
        assert_eq!(parsed.desk.printer, None);
        assert_eq!(parsed.journal.retention_days, 60);
    }

    #[test]
    fn a_save_from_a_file_without_some_sections_adds_only_what_the_form_sets() {
        let dir = tempfile::tempdir().expect("tmp");
        let short = "facility_code = \"1312345678\"\n\n[endpoint]\nurl = \"https://10.0.0.1:8443/\"\nca = \"tls/server-ca.pem\"\nclient_certificate = \"tls/facility.pem\"\nclient_key = \"tls/facility-key.pem\"\n";
        let config = config_file(dir.path(), short);
        let mut form = SettingsForm::from_config(&config);
        form.printer = "back-office".into();
        let (text, parsed) = form.validate(b"01234567").expect("valid");
        let before: toml::Table = toml::from_str(short).expect("toml");
        let mut after: toml::Table = toml::from_str(&text).expect("toml");
        let desk = after
            .remove("desk")
            .expect("a [desk] section for the printer");
        assert_eq!(desk.to_string(), "{ printer = \"back-office\" }");
        assert_eq!(after, before, "nothing else is added or changed");
        assert!(text.starts_with(short), "{text}");
        assert_eq!(parsed.journal.path, None);
    }

    #[test]
    fn a_file_the_desk_cannot_read_as_toml_is_never_overwritten() {
        let dir = tempfile::tempdir().expect("tmp");
        let config = config_file(dir.path(), FULL);
        let form = SettingsForm::from_config(&config);
        for broken in [
            "facility_code = \n[endpoint",
            "endpoint = 3\n",
            "desk = [1]\n",
        ] {
            std::fs::write(&config.path, broken).expect("break");
            let problem = form.validate(b"01234567").expect_err(broken);
            assert!(problem.contains("設定ファイル"), "{broken}: {problem}");
        }
    }

    #[test]
    fn the_passcode_in_use_is_kept_and_a_path_that_is_no_file_is_refused() {
        let dir = tempfile::tempdir().expect("tmp");
        let short = "facility_code = \"1312345678\"\n\n[endpoint]\nurl = \"https://10.0.0.1:8443/\"\nca = \"tls/server-ca.pem\"\nclient_certificate = \"tls/facility.pem\"\nclient_key = \"tls/facility-key.pem\"\n";
        let config = config_file(dir.path(), short);
        // The passcode in use (set by the desk, not yet in the file) is written, not lost.
        let mut form = SettingsForm::from_config(&config);
        let line = PasscodeHash::new("2468", b"01234567")
            .expect("4 digits")
            .to_string();
        form.passcode_line = Some(line);
        let (_, parsed) = form.validate(b"01234567").expect("valid");
        assert!(parsed.desk.passcode.is_some_and(|p| p.matches("2468")));
        // A folder where the file should be: refused with the desk's wording, nothing written.
        form.path = dir.path().join("tls");
        let problem = form.validate(b"01234567").expect_err("a folder");
        assert!(
            problem.contains("通常のファイルではありません"),
            "{problem}"
        );
    }

    #[test]
    fn a_valid_form_round_trips_through_the_real_parser() {
        let dir = tempfile::tempdir().expect("tmp");
        let (text, config) = form(dir.path()).validate(b"01234567").expect("valid");
        assert!(
            !text.contains("4321"),
            "the passcode is stored hashed:\n{text}"
        );
        assert_eq!(config.facility_code.as_str(), "1312345678");
        assert_eq!(
            config.desk.facility_name.as_deref(),
            Some("オンシ診療所 \"本院\"")
        );
        assert!(config
            .desk
            .passcode
            .as_ref()
            .is_some_and(|p| p.matches("4321")));
        assert_eq!(config.desk.scale, Some(1.2));
        assert_eq!(config.endpoint.ca, dir.path().join("ca.pem"));
        // What is saved is what the form shows next time.
        let again = SettingsForm::from_config(&config);
        assert_eq!(again.facility_code, "1312345678");
        assert_eq!(again.printer, "reception");
        assert!(again.new_passcode.is_empty() && again.passcode_line.is_some());
    }

    #[test]
    fn a_settings_passcode_of_its_own_and_the_patient_display_are_saved() {
        let dir = tempfile::tempdir().expect("tmp");
        let config = config_file(dir.path(), FULL);
        let mut form = SettingsForm::from_config(&config);
        form.new_settings_passcode = "８６４２".into();
        form.patient_display = true;
        form.patient_display_position = "1920, 0".into();
        let (text, parsed) = form.validate(b"01234567").expect("valid");
        assert!(!text.contains("8642"), "stored hashed:\n{text}");
        assert!(text.contains("patient_display = true\npatient_display_position = [1920, 0]"));
        assert!(parsed
            .desk
            .settings_passcode
            .as_ref()
            .is_some_and(|p| p.matches("8642")));
        assert_eq!(
            parsed.desk.passcode.as_ref().map(|p| p.to_string()),
            config.desk.passcode.as_ref().map(|p| p.to_string()),
            "the facility passcode is untouched"
        );
        assert!(parsed.desk.patient_display);
        assert_eq!(parsed.desk.patient_display_position, Some([1920.0, 0.0]));
        // Saved and shown again: kept as it is; unticked, the keys go.
        save(&config.path, &text).expect("saved");
        let mut again = SettingsForm::from_config(&parsed);
        assert_eq!(again.patient_display_position, "1920, 0");
        assert_eq!(again.validate(b"01234567").expect("valid").0, text);
        again.patient_display = false;
        again.patient_display_position.clear();
        let (text, _) = again.validate(b"01234567").expect("valid");
        assert!(!text.contains("patient_display"), "{text}");
        assert!(text.contains("settings_passcode"), "{text}");
        // The same code as the facility passcode would open the settings to whoever saw it
        // typed for visual check: refused.
        let mut same = SettingsForm::from_config(&config);
        same.new_passcode = "2468".into();
        same.new_settings_passcode = "2468".into();
        let problem = same.validate(b"01234567").expect_err("the same code");
        assert!(problem.contains("別の番号"), "{problem}");
        let mut bad = SettingsForm::from_config(&config);
        bad.new_settings_passcode = "12".into();
        assert!(bad
            .validate(b"01234567")
            .is_err_and(|e| e.contains("設定用パスコード")));
        bad.new_settings_passcode.clear();
        bad.patient_display_position = "右".into();
        assert!(bad
            .validate(b"01234567")
            .is_err_and(|e| e.contains("お客様用画面の位置")));
    }

    #[test]
    fn bad_values_are_refused_with_the_field() {
        let dir = tempfile::tempdir().expect("tmp");
        let mut f = form(dir.path());
        f.url = "http://insecure".into();
        assert!(f
            .validate(b"01234567")
            .is_err_and(|e| e.contains("資格確認の接続先")));
        let mut f = form(dir.path());
        f.timeout_ms = "十秒".into();
        assert!(f
            .validate(b"01234567")
            .is_err_and(|e| e.contains("応答タイムアウト")));
        let mut f = form(dir.path());
        f.new_passcode = "12".into();
        assert!(f.validate(b"01234567").is_err_and(|e| e.contains("4桁")));
        let mut f = form(dir.path());
        f.client_certificate = "missing.pem".into();
        assert!(f
            .validate(b"01234567")
            .is_err_and(|e| e.contains("クライアント証明書")));
        let mut f = form(dir.path());
        f.scale = "5".into();
        assert!(f
            .validate(b"01234567")
            .is_err_and(|e| e.contains("文字の大きさ")));
    }

    /// Staff see every problem of the form at once, in the form's words, never a
    /// configuration key.
    #[test]
    fn every_problem_is_listed_at_once_in_japanese() {
        let dir = tempfile::tempdir().expect("tmp");
        let mut f = form(dir.path());
        f.facility_code = "123".into();
        f.url = "http://insecure".into();
        f.timeout_ms = "0".into();
        f.scale = "5".into();
        f.result_timeout_s = "1".into();
        f.new_passcode = "12".into();
        f.client_key = "missing.pem".into();
        let problems = f.validate(b"01234567").expect_err("refused");
        let lines: Vec<&str> = problems.lines().collect();
        assert_eq!(lines.len(), 7, "{problems}");
        for label in [
            "医療機関コード",
            "資格確認の接続先",
            "応答タイムアウト",
            "文字の大きさ",
            "結果を自動で閉じるまで",
            "施設パスコード",
            "クライアント秘密鍵",
        ] {
            assert!(problems.contains(label), "{label}: {problems}");
        }
        for key in [
            "facility_code",
            "endpoint",
            "timeout_ms",
            "desk.",
            "scale",
            "result_timeout",
        ] {
            assert!(!problems.contains(key), "{key}: {problems}");
        }
        // The unattended-result timeout is saved and read back.
        let mut f = form(dir.path());
        f.result_timeout_s = "90".into();
        let (text, config) = f.validate(b"01234567").expect("valid");
        assert!(text.contains("result_timeout_s = 90"), "{text}");
        assert_eq!(
            config.desk.result_timeout,
            std::time::Duration::from_secs(90)
        );
    }

    /// The receipt computer's folder is set from the settings screen (a clinic's IT person
    /// does not edit TOML): on, off, the folder, the encoding; on without a folder is refused
    /// in the form's words.
    #[test]
    fn the_receipt_computer_folder_is_set_from_the_form() {
        let dir = tempfile::tempdir().expect("tmp");
        let mut f = form(dir.path());
        f.interop_enabled = true;
        let problems = f.validate(b"01234567").expect_err("no folder");
        assert!(problems.contains("レセコン連携フォルダ"), "{problems}");
        assert!(!problems.contains("interop"), "{problems}");

        f.interop_folder = "oqs".into();
        f.interop_utf8 = true;
        let (text, config) = f.validate(b"01234567").expect("valid");
        assert!(text.contains("[interop]"), "{text}");
        assert!(config.interop.enabled);
        assert_eq!(config.interop.folder, dir.path().join("oqs"));
        assert_eq!(
            config.interop.encoding,
            crate::domain::text::TextEncoding::Utf8
        );
        std::fs::write(dir.path().join("config.toml"), &text).expect("save");

        // Read back into the form, then switched off and back to Shift_JIS.
        let mut again = SettingsForm::from_config(&config);
        assert!(again.interop_enabled && again.interop_utf8);
        again.interop_enabled = false;
        again.interop_utf8 = false;
        let (_, off) = again.validate(b"01234567").expect("valid");
        assert!(!off.interop.enabled);
        assert_eq!(
            off.interop.encoding,
            crate::domain::text::TextEncoding::ShiftJis
        );
    }
}
