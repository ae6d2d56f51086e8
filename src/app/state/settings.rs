//! The staff settings screen (設定): locked behind the settings passcode (設定用パスコード), or
//! the facility passcode and a confirmation step when none is set; the form itself is
//! `crate::app::settings`, drawn by `screens::settings`.

use super::{Action, Desk, Digits, JobId, PasscodeOutcome, Request, Screen};
use crate::app::settings::SettingsForm;

/// The settings screen: locked until the settings passcode is typed, or the facility
/// passcode and then a confirmation when there is no settings passcode.
#[derive(Clone, Debug)]
pub struct SettingsScreen {
    pub unlocked: bool,
    pub passcode: Digits,
    pub refused: bool,
    /// The facility passcode was right and no settings passcode is set: the confirmation step
    /// (設定を開く確認) before the settings open.
    pub confirming: bool,
    pub form: SettingsForm,
    /// A save under way.
    pub saving: Option<JobId>,
}

impl Desk {
    pub(super) fn settings_keypad(&mut self, action: Action) {
        let Screen::Settings(s) = &mut self.screen else {
            return;
        };
        if s.unlocked {
            return;
        }
        match action {
            Action::KeypadDigit(d) if !s.confirming => s.passcode.push(d),
            Action::KeypadBackspace => s.passcode.backspace(),
            Action::KeypadClear => s.passcode.clear(),
            Action::SubmitPasscode if s.passcode.is_complete() && !s.confirming => {
                let desk = self.config.as_ref().map(|c| &c.desk);
                let settings_code = desk.and_then(|d| d.settings_passcode.as_ref());
                // No passcode configured yet (first start): the settings are open, so the
                // IT person can set one; the visual-check mode stays closed until then.
                let open = desk.is_none_or(|d| d.passcode.is_none() && settings_code.is_none());
                let typed = s.passcode.reveal();
                let now = self.clock.now();
                let outcome = match settings_code {
                    _ if open => PasscodeOutcome::Right,
                    Some(code) => self.passcode_guard.judge(now, || code.matches(typed)),
                    None => self
                        .passcode_guard
                        .judge(now, || self.passcode.matches(typed)),
                };
                match outcome {
                    PasscodeOutcome::Right if open || settings_code.is_some() => {
                        s.unlocked = true;
                    }
                    // The facility passcode is typed in view of patients (visual check): with
                    // no settings passcode of their own, the settings ask once more.
                    PasscodeOutcome::Right => s.confirming = true,
                    PasscodeOutcome::Wrong => s.refused = true,
                    PasscodeOutcome::Wait(_) => {}
                }
                s.passcode.clear();
            }
            Action::ConfirmSettings if s.confirming => {
                s.confirming = false;
                s.unlocked = true;
            }
            _ => {}
        }
    }

    pub(super) fn save_settings(&mut self) {
        let job = self.next_job;
        let Screen::Settings(s) = &mut self.screen else {
            return;
        };
        if !s.unlocked || s.saving.is_some() {
            return;
        }
        let salt: [u8; 16] = rand::random();
        match s.form.validate(&salt) {
            Ok((text, _)) => {
                self.next_job += 1;
                s.saving = Some(job);
                s.form.outcome = None;
                s.form.new_passcode.clear();
                s.form.new_settings_passcode.clear();
                self.outbox.push(Request::SaveSettings {
                    job,
                    path: s.form.path.clone(),
                    text,
                });
            }
            Err(problem) => s.form.outcome = Some(Err(problem)),
        }
    }

    /// Opening, editing and saving the settings.
    pub(super) fn settings_action(&mut self, action: Action) {
        match action {
            Action::OpenSettings if !self.busy() => {
                let form = match &self.config {
                    Some(c) => SettingsForm::from_config(c),
                    None => SettingsForm::empty(self.config_path.clone()),
                };
                self.screen = Screen::Settings(Box::new(SettingsScreen {
                    unlocked: false,
                    passcode: Digits::default(),
                    refused: false,
                    confirming: false,
                    form,
                    saving: None,
                }));
            }
            Action::EditSettings(form) => {
                if let Screen::Settings(s) = &mut self.screen {
                    if s.unlocked {
                        s.form = *form;
                    }
                }
            }
            Action::SaveSettings => self.save_settings(),
            Action::ConfirmSettings => self.settings_keypad(action),
            _ => {}
        }
    }

    /// The configuration file was written (or not).
    pub(super) fn settings_saved(&mut self, job: JobId, result: Result<(), String>) {
        if let Screen::Settings(s) = &mut self.screen {
            if s.saving == Some(job) {
                s.saving = None;
                s.form.outcome = Some(
                    result.map(|()| "保存しました。アプリを再起動すると反映されます。".to_owned()),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, PasscodeHash};
    use time::macros::datetime;

    /// A desk whose facility passcode (visual check) is 1111, with `settings` as its
    /// settings passcode, on a clock the test moves.
    fn desk(settings: Option<&str>) -> (Desk, std::sync::Arc<crate::clock::FixedClock>) {
        let clock = crate::clock::FixedClock::shared_at(datetime!(2026-11-21 10:00 +9));
        let mut d = Desk::new(clock.clone(), Box::new(|typed: &str| typed == "1111"));
        let facility = PasscodeHash::new("1111", b"01234567").expect("4 digits");
        let mut text = format!(
            "facility_code = \"1312345678\"\n[endpoint]\nurl = \"https://127.0.0.1:8443\"\nca = \"ca.pem\"\nclient_certificate = \"c.pem\"\nclient_key = \"k.pem\"\n[desk]\npasscode = \"{facility}\"\n"
        );
        if let Some(code) = settings {
            let hash = PasscodeHash::new(code, b"76543210").expect("4 digits");
            text.push_str(&format!("settings_passcode = \"{hash}\"\n"));
        }
        d.config = Some(Config::parse(&text, std::path::Path::new("/c.toml")).expect("config"));
        (d, clock)
    }

    fn type_code(d: &mut Desk, code: &str) {
        for c in code.chars() {
            d.act(Action::KeypadDigit(c));
        }
        d.act(Action::SubmitPasscode);
    }

    fn settings(d: &Desk) -> &SettingsScreen {
        match &d.screen {
            Screen::Settings(s) => s,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_settings_passcode_opens_the_settings_and_the_visual_check_code_does_not() {
        let (mut d, _) = desk(Some("8642"));
        d.act(Action::OpenSettings);
        type_code(&mut d, "1111");
        assert!(!settings(&d).unlocked && settings(&d).refused);
        assert!(!settings(&d).confirming);
        type_code(&mut d, "8642");
        assert!(settings(&d).unlocked);
    }

    #[test]
    fn without_a_settings_passcode_the_facility_code_needs_a_confirmation() {
        let (mut d, _) = desk(None);
        d.act(Action::OpenSettings);
        type_code(&mut d, "1111");
        assert!(settings(&d).confirming && !settings(&d).unlocked);
        // No digits reach the keypad while the confirmation is asked.
        d.act(Action::KeypadDigit('1'));
        assert_eq!(settings(&d).passcode.len(), 0);
        d.act(Action::ConfirmSettings);
        assert!(settings(&d).unlocked && !settings(&d).confirming);
    }

    #[test]
    fn wrong_passcodes_cost_a_growing_wait_counted_across_screens_with_the_clock() {
        let (mut d, clock) = desk(Some("8642"));
        d.act(Action::OpenSettings);
        type_code(&mut d, "0000");
        type_code(&mut d, "0001");
        assert_eq!(d.passcode_wait(), None, "two mistakes cost nothing");
        type_code(&mut d, "0002");
        assert_eq!(d.passcode_wait(), Some(5));
        // Leaving and coming back does not start the count again.
        d.act(Action::Cancel);
        d.act(Action::OpenSettings);
        assert_eq!(d.passcode_wait(), Some(5));
        // While it waits, even the right code is not tried.
        type_code(&mut d, "8642");
        assert!(!settings(&d).unlocked);
        assert_eq!(settings(&d).passcode.len(), 0, "the typed code is not kept");
        clock.set(datetime!(2026-11-21 10:00:05 +9));
        assert_eq!(d.passcode_wait(), None);
        type_code(&mut d, "0003");
        assert_eq!(d.passcode_wait(), Some(15));
        clock.set(datetime!(2026-11-21 10:00:20 +9));
        type_code(&mut d, "8642");
        assert!(settings(&d).unlocked);
        // A right code starts the count again: the next mistake costs nothing.
        d.act(Action::Cancel);
        d.act(Action::OpenSettings);
        type_code(&mut d, "0000");
        assert_eq!(d.passcode_wait(), None);
    }
}
