//! Scripted walks through the desk for screenshots and the smoke test (`--scenario NAME`).
//!
//! A scenario is what a clerk would do, as steps on the real desk state: place a demo card,
//! wait for a screen, tap. Run with `--test-date` so the pictures do not change with the day.

use std::collections::VecDeque;

use super::claim_flow::DeclarationForm;
use super::state::{Action, IdentityMode, PaperExpenseForm, Screen};

/// One step of a scenario.
pub enum Step {
    /// Put this demo persona's card on the demo reader.
    Place(&'static str),
    /// Do this, as if tapped.
    Act(Box<Action>),
    /// Wait until the screen is like this.
    Until(fn(&Screen) -> bool),
}

fn act(action: Action) -> Step {
    Step::Act(Box::new(action))
}

fn identity(s: &Screen) -> bool {
    matches!(s, Screen::Identity(_))
}

fn result(s: &Screen) -> bool {
    matches!(s, Screen::Result(_))
}

fn visual_check(persona: &'static str) -> Vec<Step> {
    let mut steps = vec![
        Step::Place(persona),
        Step::Until(identity),
        act(Action::StartVisualCheck),
    ];
    steps.extend("0000".chars().map(|d| act(Action::KeypadDigit(d))));
    steps.extend([
        act(Action::SubmitPasscode),
        act(Action::ConfirmVisual),
        Step::Until(result),
    ]);
    steps
}

/// The 難病 persona's 受給者証 as the clerk types it (full-width digits, 和暦).
fn intractable_form() -> PaperExpenseForm {
    PaperExpenseForm {
        payer: "５４１３００１８".into(),
        recipient: "３４５６７８８".into(),
        valid_from: "R8.7.1".into(),
        valid_until: "R9.6.30".into(),
        income_category: "一般所得Ⅰ".into(),
        monthly_cap: "10,000".into(),
        problems: Vec::new(),
    }
}

/// The scenarios by name; `None` for an unknown name.
pub fn steps(name: &str) -> Option<VecDeque<Step>> {
    let steps = match name {
        "idle" => Vec::new(),
        "pin" => vec![
            Step::Place("valid"),
            Step::Until(identity),
            act(Action::KeypadDigit('1')),
            act(Action::KeypadDigit('2')),
        ],
        "last-try" => vec![
            Step::Place("pin-one-left"),
            Step::Until(
                |s| matches!(s, Screen::Identity(i) if i.mode == IdentityMode::LastTryWarning),
            ),
        ],
        "passcode" => vec![
            Step::Place("pin-blocked"),
            Step::Until(identity),
            act(Action::StartVisualCheck),
            act(Action::KeypadDigit('0')),
        ],
        // Three wrong facility passcodes: the next try waits (the clock stands still).
        "passcode-wait" => {
            let mut s = vec![
                Step::Place("pin-blocked"),
                Step::Until(identity),
                act(Action::StartVisualCheck),
            ];
            for wrong in ["1111", "2222", "3333"] {
                s.extend(wrong.chars().map(|d| act(Action::KeypadDigit(d))));
                s.push(act(Action::SubmitPasscode));
            }
            s
        }
        // The settings opened with the facility passcode: the confirmation step.
        "settings-confirm" => {
            let mut s = vec![act(Action::OpenSettings)];
            s.extend("0000".chars().map(|d| act(Action::KeypadDigit(d))));
            s.push(act(Action::SubmitPasscode));
            s
        }
        // The settings form itself, after the confirmation step.
        "settings" => {
            let mut s = vec![act(Action::OpenSettings)];
            s.extend("0000".chars().map(|d| act(Action::KeypadDigit(d))));
            s.push(act(Action::SubmitPasscode));
            s.push(act(Action::ConfirmSettings));
            s
        }
        "result" => visual_check("valid"),
        "result-elderly" => visual_check("expiring-soon"),
        "result-several" => visual_check("face-auth"),
        // A paper 受給者証 (the 難病 persona's) added on the result screen: the 公費 block and
        // 本日のお支払い. (The mock answers carry no 公費 yet; typed in, it is the desk's path.)
        "result-public-expense" => {
            let mut s = visual_check("valid");
            s.extend([
                act(Action::OpenPaperExpense),
                act(Action::EditPaperExpense(Box::new(intractable_form()))),
                act(Action::SubmitPaperExpense),
                Step::Until(|s| matches!(s, Screen::Result(r) if r.paper.notice.is_some())),
            ]);
            s
        }
        // The paper form refusing a wrong check digit (the last digit of 54130018 changed).
        "paper-expense-form" => {
            let mut s = visual_check("valid");
            s.extend([
                act(Action::OpenPaperExpense),
                act(Action::EditPaperExpense(Box::new(PaperExpenseForm {
                    payer: "５４１３００１９".into(),
                    ..intractable_form()
                }))),
                act(Action::SubmitPaperExpense),
            ]);
            s
        }
        "claim" => {
            let mut s = visual_check("small-cert");
            s.push(act(Action::OpenClaim));
            s
        }
        "declaration" => {
            let mut s = visual_check("pin-blocked");
            s.extend([
                act(Action::OpenClaim),
                act(Action::StartDeclaration),
                act(Action::EditDeclaration(DeclarationForm {
                    name: "中村 由美".into(),
                    name_kana: "ナカムラ ユミ".into(),
                    birthdate: "昭和43年4月20日".into(),
                    sex: "female".into(),
                    address: "京都府京都市上京区下立売通新町西入薮ノ内町".into(),
                    phone: "075-222-3333".into(),
                    insurance_kind: "employee".into(),
                    employer: "薮ノ内工務店".into(),
                    relationship: "insured".into(),
                    ..DeclarationForm::default()
                })),
                act(Action::PreviewDeclaration),
            ]);
            s
        }
        "history" => {
            let mut s = visual_check("valid");
            s.extend([
                act(Action::Done),
                act(Action::OpenHistory),
                Step::Until(
                    |s| matches!(s, Screen::History(h) if h.loading.is_none() && !h.records.is_empty()),
                ),
                // The first record of a fresh demo folder: the check just made.
                act(Action::SelectRecord(crate::journal::CheckId(1))),
            ]);
            s
        }
        _ => return None,
    };
    Some(steps.into())
}

/// The names, for `--help` and errors.
pub const NAMES: &[&str] = &[
    "idle",
    "pin",
    "last-try",
    "passcode",
    "passcode-wait",
    "settings-confirm",
    "settings",
    "result",
    "result-elderly",
    "result-several",
    "result-public-expense",
    "paper-expense-form",
    "claim",
    "declaration",
    "history",
];
