//! One module per screen. Each draws from the [`Desk`] and returns what was tapped as
//! [`Action`]s; none of them changes state or does I/O itself.

mod claim;
mod history;
mod identity;
mod idle;
mod numbers;
pub(crate) mod patient;
mod problem;
mod public_expense;
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
        Screen::Reading {
            reader,
            next_patient,
            ..
        } => querying::reading(ui, reader, *next_patient, actions),
        Screen::Identity(s) => identity::show(ui, s, desk, actions),
        Screen::Querying { card, .. } => querying::show(ui, card.is_some(), actions),
        Screen::Result(r) => result::show(ui, r, desk.public_expense_table(), desk.view(), actions),
        Screen::Numbers(form) => numbers::show(ui, form, desk.view(), actions),
        Screen::Claim(flow) => claim::show(ui, flow, desk.view(), actions),
        Screen::Problem(p) => problem::show(ui, p, actions),
        Screen::Settings(s) => settings::show(ui, s, desk.view(), desk.passcode_wait(), actions),
        Screen::History(h) => history::show(ui, h, desk.today(), desk.view(), actions),
    }
}

/// Width of the keypad's grid (three keys and their gaps).
const KEYPAD_WIDTH: f32 = 3.0 * KEY.x + 2.0 * KEY_GAP;
/// One key of the keypad: touch-sized, and small enough that the keypad and its screen's
/// buttons fit a 1366×698 or 1024×768 window.
const KEY: egui::Vec2 = egui::vec2(104.0, TOUCH);
const KEY_GAP: f32 = 10.0;
/// Width of the side panel holding a keypad screen's buttons when the window is wide.
const SIDE_PANEL: f32 = 400.0;

/// A screen whose primary buttons never scroll away: `buttons` go in a panel at the bottom
/// (or, for `beside` screens such as the keypads, at the right when the window is wide enough
/// for both, short windows having little height to spare), `content` above or beside it in a
/// scroll area. The scroll area is keyed by `view` ([`Desk::view`]), so each new screen,
/// patient and verdict opens at the top.
pub(crate) fn framed(
    ui: &mut Ui,
    id: &str,
    view: u64,
    beside: bool,
    actions: &mut Vec<Action>,
    buttons: impl FnOnce(&mut Ui, &mut Vec<Action>),
    content: impl FnOnce(&mut Ui, &mut Vec<Action>),
) {
    let side = beside && ui.available_width() >= SIDE_PANEL + KEYPAD_WIDTH + 60.0;
    if side {
        egui::Panel::right(format!("{id}-actions-side"))
            .resizable(false)
            .exact_size(SIDE_PANEL)
            .show(ui, |ui| {
                ui.add_space(12.0);
                ui.vertical_centered(|ui| buttons(ui, actions));
            });
    } else {
        egui::Panel::bottom(format!("{id}-actions-bottom"))
            .show_separator_line(true)
            .show(ui, |ui| {
                ui.add_space(6.0);
                ui.vertical_centered(|ui| buttons(ui, actions));
                ui.add_space(6.0);
            });
    }
    egui::ScrollArea::vertical()
        .id_salt((id, view))
        .auto_shrink([false, false])
        .show(ui, |ui| content(ui, actions));
}

/// A text field with its label above it and its problem, if any, right under it: inside the
/// window however narrow, and the buttons (in the panel of [`framed`]) never move when a
/// problem appears. `scroll` brings the field into view (the first problem of a submit).
pub(crate) fn form_field(
    ui: &mut Ui,
    label: &str,
    id: impl std::hash::Hash + std::fmt::Debug,
    value: &mut String,
    problem: Option<&str>,
    scroll: bool,
) {
    ui.label(RichText::new(label).size(20.0));
    let width = ui.available_width().min(420.0);
    let response = ui.add_sized(
        [width, 48.0],
        egui::TextEdit::singleline(value)
            .id_salt(id)
            .font(egui::TextStyle::Body),
    );
    if let Some(problem) = problem {
        ui.label(RichText::new(problem).color(super::theme::BAD));
        if scroll {
            response.scroll_to_me(Some(egui::Align::Center));
        }
    }
    ui.add_space(4.0);
}

/// Whether `problems` are new since the last frame of the form `id`: a submit that found
/// problems scrolls to the first one once, and the clerk may scroll freely afterwards.
pub(crate) fn new_problems(ui: &Ui, id: &str, problems: &[(&'static str, String)]) -> bool {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    problems.hash(&mut h);
    let now = h.finish();
    let key = egui::Id::unique(("form-problems", id));
    let seen = ui.ctx().data(|d| d.get_temp::<u64>(key));
    ui.ctx().data_mut(|d| d.insert_temp(key, now));
    !problems.is_empty() && seen != Some(now)
}

/// Buttons side by side, centred, when `width` fits; else one under the other.
pub(crate) fn button_row(ui: &mut Ui, width: f32, add: impl FnOnce(&mut Ui)) {
    if ui.available_width() >= width {
        ui.horizontal(|ui| {
            ui.add_space((ui.available_width() - width).max(0.0) / 2.0);
            add(ui);
        });
    } else {
        ui.vertical_centered(add);
    }
}

/// What the desk says when a check could not be recorded: the journal's own message, which
/// already says the check is not recorded and what to do, or a general one when there is
/// none; never both, so the same thing is not said twice.
pub(crate) fn not_recorded(why: &str) -> String {
    if why.trim().is_empty() {
        "この確認は記録できませんでした。画面の内容を控えてください。".to_owned()
    } else {
        why.to_owned()
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
    ui.horizontal(|ui| {
        ui.add_space(((ui.available_width() - KEYPAD_WIDTH) / 2.0).max(0.0));
        ui.vertical(|ui| keys(ui, KEY, actions));
    });
    keyboard(ui, actions);
}

fn keys(ui: &mut Ui, key: egui::Vec2, actions: &mut Vec<Action>) {
    egui::Grid::new("keypad")
        .spacing(egui::vec2(KEY_GAP, KEY_GAP))
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
