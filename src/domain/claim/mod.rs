//! The claim path (請求の経路) when online confirmation gives no usable answer.
//!
//! Pure rules, no I/O: which step applies for a check date and the evidence the patient has
//! (① current numbers from evidence, ② past numbers of an 無効 answer or of the facility's
//! records, ③ the self-declaration and an unknown receipt, or "bring the 資格確認書"), and
//! the data each step produces. The printout of the self-declaration lives in `crate::print`;
//! this module only says what goes on it.
//!
//! - [`evidence`]: what the patient shows and the dated rules for each kind;
//! - [`plan`](mod@plan): the step, the reasons, the ratio, the re-check by number;
//! - [`receipt`]: the receipt header (保険者・資格確認・コメントレコード) of the claim;
//! - [`input`]: raw JSON as people type it → the typed values above, every problem listed.

pub mod declaration;
pub mod evidence;
pub mod input;
pub mod plan;
pub mod receipt;

pub use self::declaration::{InsuranceKind, Relationship, SelfDeclaration, Sex};
pub use self::evidence::{Evidence, EvidenceKind};
pub use self::input::{parse_declaration, parse_receipt, parse_situation, Problem, Problems};
pub use self::plan::{
    apply_reconfirmation, plan, CardOutcome, Circumstance, ClaimPlan, ClaimStep, Situation,
};
