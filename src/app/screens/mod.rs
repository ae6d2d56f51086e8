//! One module per screen. Each draws from the [`Desk`] and returns what was tapped as
//! [`Action`]s; none of them changes state or does I/O itself.

mod claim;
mod history;
mod identity;
mod idle;
mod numbers;
pub(crate) mod patient;
mod problem;
mod querying;
mod result;
mod settings;

use egui::{Button, Color32, RichText, Ui};

use super::state::{Action, Desk, Screen};
use super::theme::TOUCH;

/// Draws the current screen.
pub fn show(ui: &mut Ui, desk: &Desk, actions: &mut Vec<Action>) {
    match &desk.screen {
        Screen::Idle => idle::show(ui, desk, actions),
        Screen::Reading { reader, .. } => querying::reading(ui, reader, actions),
        Screen::Identity(s) => identity::show(ui, s, desk, actions),
        Screen::Querying { card, .. } => querying::show(ui, card.is_some(), actions),
        Screen::Result(r) => result::show(ui, r, actions),
        Screen::Numbers(form) => numbers::show(ui, form, actions),
        Screen::Claim(flow) => claim::show(ui, flow, actions),
        Screen::Problem(p) => problem::show(ui, p, actions),
        Screen::Settings(s) => settings::show(ui, s, desk.passcode_wait(), actions),
        Screen::History(h) => history::show(ui, h, desk.today(), actions),
    }
}

/// The title of a staff-only step, marked 職員用: on one touch screen shared with patients,
/// the passcode, visual-check and settings screens say at a glance that they are not the
/// patient's to touch. One line (the badge is a coloured part of the title), so the keypad
/// below loses no height.
pub(crate) fn staff_title(ui: &mut Ui, title: &str, size: f32) {
    use egui::text::{LayoutJob, TextFormat};
    let mut job = LayoutJob::default();
    job.append(
        " 職員用 ",
        0.0,
        TextFormat {
            font_id: egui::FontId::proportional(size * 0.7),
            color: Color32::WHITE,
            background: super::theme::STAFF,
            expand_bg: 4.0,
            valign: egui::Align::Center,
            ..Default::default()
        },
    );
    job.append(
        title,
        size * 0.4,
        TextFormat {
            font_id: egui::FontId::proportional(size),
            color: Color32::from_gray(20),
            valign: egui::Align::Center,
            ..Default::default()
        },
    );
    ui.label(job);
}

/// Under a passcode keypad: the last code was wrong, and how long the next try waits.
pub(crate) fn passcode_refusal(ui: &mut Ui, refused: bool, wait: Option<u64>) {
    let text = match (refused, wait) {
        (_, Some(seconds)) => format!("パスコードが違います。あと{seconds}秒お待ちください。"),
        (true, None) => "パスコードが違います。".to_owned(),
        (false, None) => return,
    };
    ui.label(RichText::new(text).color(super::theme::BAD));
}

/// A large touch button; `true` when tapped.
pub(crate) fn big_button(ui: &mut Ui, text: &str, fill: Option<Color32>) -> bool {
    let mut label = RichText::new(text).size(26.0);
    let mut button = Button::new(label.clone()).min_size(egui::vec2(280.0, TOUCH + 8.0));
    if let Some(fill) = fill {
        label = label.color(Color32::WHITE);
        button = Button::new(label)
            .min_size(egui::vec2(280.0, TOUCH + 8.0))
            .fill(fill);
    }
    ui.add(button).clicked()
}

/// A secondary (smaller, still touch-sized) button.
pub(crate) fn small_button(ui: &mut Ui, text: &str) -> bool {
    ui.add(Button::new(RichText::new(text).size(22.0)).min_size(egui::vec2(160.0, TOUCH)))
        .clicked()
}

/// A button for work done by a worker: while it runs (`busy` holds what to say instead,
/// e.g. 印刷しています…) the button shows that and a tap does nothing, so one tap never
/// starts the work twice. `true` when tapped while idle.
pub(crate) fn job_button(ui: &mut Ui, label: &str, busy: Option<&str>) -> bool {
    small_button(ui, busy.unwrap_or(label)) && busy.is_none()
}

/// The 4-digit keypad: digits, 訂正 (backspace), クリア.
pub(crate) fn keypad(ui: &mut Ui, actions: &mut Vec<Action>) {
    let key = egui::vec2(110.0, 84.0);
    let width = 3.0 * key.x + 2.0 * 14.0;
    ui.horizontal(|ui| {
        ui.add_space(((ui.available_width() - width) / 2.0).max(0.0));
        ui.vertical(|ui| keys(ui, key, actions));
    });
    keyboard(ui, actions);
}

fn keys(ui: &mut Ui, key: egui::Vec2, actions: &mut Vec<Action>) {
    egui::Grid::new("keypad")
        .spacing(egui::vec2(14.0, 14.0))
        .show(ui, |ui| {
            for row in [['1', '2', '3'], ['4', '5', '6'], ['7', '8', '9']] {
                for d in row {
                    if ui
                        .add(Button::new(RichText::new(d.to_string()).size(36.0)).min_size(key))
                        .clicked()
                    {
                        actions.push(Action::KeypadDigit(d));
                    }
                }
                ui.end_row();
            }
            if ui
                .add(Button::new(RichText::new("クリア").size(24.0)).min_size(key))
                .clicked()
            {
                actions.push(Action::KeypadClear);
            }
            if ui
                .add(Button::new(RichText::new("0").size(36.0)).min_size(key))
                .clicked()
            {
                actions.push(Action::KeypadDigit('0'));
            }
            if ui
                .add(Button::new(RichText::new("訂正").size(24.0)).min_size(key))
                .clicked()
            {
                actions.push(Action::KeypadBackspace);
            }
            ui.end_row();
        });
}

/// Staff on a normal PC: the number row and the keypad of the keyboard work too.
fn keyboard(ui: &mut Ui, actions: &mut Vec<Action>) {
    ui.input(|i| {
        for e in &i.events {
            if let egui::Event::Text(t) = e {
                for c in t.chars().filter(char::is_ascii_digit) {
                    actions.push(Action::KeypadDigit(c));
                }
            }
            if let egui::Event::Key {
                key: egui::Key::Backspace,
                pressed: true,
                ..
            } = e
            {
                actions.push(Action::KeypadBackspace);
            }
        }
    });
}

/// `●●○○`: how many digits were typed, never which.
pub(crate) fn masked(len: usize) -> String {
    (0..4).map(|i| if i < len { '●' } else { '○' }).collect()
}
