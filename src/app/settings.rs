//! Staff settings (設定, behind the facility passcode): the configuration file as a form.
//!
//! What is typed is turned into the configuration text and parsed by the very parser the app
//! starts with ([`Config::parse`]), so the desk can never save a file it would refuse to
//! start on. The file is written by a worker (`Request::SaveSettings`), atomically.

use std::path::PathBuf;

use crate::config::Config;
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
    /// A new facility passcode (4 digits); empty keeps the current one.
    pub new_passcode: String,
    /// The current passcode line, kept unless a new one is typed.
    pub passcode_line: Option<String>,
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
            new_passcode: String::new(),
            passcode_line: c.desk.passcode.as_ref().map(|p| p.to_string()),
            outcome: None,
        }
    }

    /// An empty form for a desk without a configuration yet.
    pub fn empty(path: PathBuf) -> SettingsForm {
        SettingsForm {
            path,
            connect_timeout_ms: "3000".into(),
            timeout_ms: "10000".into(),
            ..SettingsForm::default()
        }
    }

    /// The configuration text and the parsed configuration, or what is wrong (Japanese for
    /// the desk, with the field).
    pub fn validate(&self, salt: &[u8]) -> Result<(String, Config), String> {
        let mut root = toml::Table::new();
        let text = |s: &str| toml::Value::String(s.trim().to_owned());
        root.insert("facility_code".into(), text(&self.facility_code));
        let number = |field: &str, s: &str| -> Result<toml::Value, String> {
            s.trim()
                .parse::<i64>()
                .map(toml::Value::Integer)
                .map_err(|_| format!("「{field}」は数字で入力してください。"))
        };
        let mut endpoint = toml::Table::new();
        endpoint.insert("url".into(), text(&self.url));
        endpoint.insert("ca".into(), text(&self.ca));
        endpoint.insert("client_certificate".into(), text(&self.client_certificate));
        endpoint.insert("client_key".into(), text(&self.client_key));
        endpoint.insert(
            "connect_timeout_ms".into(),
            number("接続タイムアウト", &self.connect_timeout_ms)?,
        );
        endpoint.insert(
            "timeout_ms".into(),
            number("応答タイムアウト", &self.timeout_ms)?,
        );
        root.insert("endpoint".into(), toml::Value::Table(endpoint));
        let mut card = toml::Table::new();
        if !self.reader.trim().is_empty() {
            card.insert("reader".into(), text(&self.reader));
        }
        card.insert(
            "grace_end".into(),
            text(match self.grace_end {
                GraceEnd::EndOfMonth => "end-of-month",
                GraceEnd::FromExpiryDate => "from-expiry-date",
            }),
        );
        root.insert("card".into(), toml::Value::Table(card));
        let mut desk = toml::Table::new();
        if !self.facility_name.trim().is_empty() {
            desk.insert("facility_name".into(), text(&self.facility_name));
        }
        if !self.printer.trim().is_empty() {
            desk.insert("printer".into(), text(&self.printer));
        }
        if !self.scale.trim().is_empty() {
            let scale = self.scale.trim().parse::<f64>().map_err(|_| {
                "「文字の大きさ」は 1.2 のように数字で入力してください。".to_owned()
            })?;
            desk.insert("scale".into(), toml::Value::Float(scale));
        }
        let passcode = if self.new_passcode.trim().is_empty() {
            self.passcode_line.clone()
        } else {
            Some(
                crate::config::PasscodeHash::new(self.new_passcode.trim(), salt)
                    .map_err(|_| "施設パスコードは数字4桁で入力してください。".to_owned())?
                    .to_string(),
            )
        };
        if let Some(p) = passcode {
            desk.insert("passcode".into(), toml::Value::String(p));
        }
        root.insert("desk".into(), toml::Value::Table(desk));
        let body = toml::to_string(&root).map_err(|e| e.to_string())?;
        let text =
            format!("# onshi-desk configuration (saved from the staff settings screen)\n{body}");
        let config =
            Config::parse(&text, &self.path).map_err(|e| format!("{} ({e})", e.desk_message()))?;
        // The files the configuration names must be there: a desk that cannot start its
        // client after a restart is worse than one that refuses the change now.
        for (label, path) in [
            ("サーバーCA証明書", &config.endpoint.ca),
            ("クライアント証明書", &config.endpoint.client_certificate),
            ("クライアント秘密鍵", &config.endpoint.client_key),
        ] {
            if !path.is_file() {
                return Err(format!(
                    "{label}のファイルが見つかりません: {}",
                    path.display()
                ));
            }
        }
        Ok((text, config))
    }
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
    fn bad_values_are_refused_with_the_field() {
        let dir = tempfile::tempdir().expect("tmp");
        let mut f = form(dir.path());
        f.url = "http://insecure".into();
        assert!(f
            .validate(b"01234567")
            .is_err_and(|e| e.contains("endpoint.url")));
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
            .is_err_and(|e| e.contains("desk.scale")));
    }
}
