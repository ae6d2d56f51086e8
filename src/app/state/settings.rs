//! The staff settings screen (設定): locked behind the facility passcode; the form itself is
//! `crate::app::settings`, drawn by `screens::settings`.

use super::{Action, Desk, Digits, JobId, Request, Screen};
use crate::app::settings::SettingsForm;

/// The settings screen: locked until the facility passcode is typed.
#[derive(Clone, Debug)]
pub struct SettingsScreen {
    pub unlocked: bool,
    pub passcode: Digits,
    pub refused: bool,
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
            Action::KeypadDigit(d) => s.passcode.push(d),
            Action::KeypadBackspace => s.passcode.backspace(),
            Action::KeypadClear => s.passcode.clear(),
            Action::SubmitPasscode if s.passcode.is_complete() => {
                // No passcode configured yet (first start): the settings are open, so the
                // IT person can set one; the visual-check mode stays closed until then.
                let open = self
                    .config
                    .as_ref()
                    .is_none_or(|c| c.desk.passcode.is_none());
                if open || self.passcode.matches(s.passcode.reveal()) {
                    s.unlocked = true;
                } else {
                    s.refused = true;
                }
                s.passcode.clear();
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
