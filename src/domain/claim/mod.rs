//! The claim path (請求の経路) when online confirmation gives no usable answer.
//!
//! Pure rules, no I/O: which step applies for a check date and the evidence the patient has
//! (① current numbers from evidence, ② the old numbers of an 無効 answer, ③ the
//! self-declaration and an unknown receipt), and the data each step produces. The printout of
//! the self-declaration lives in `crate::print`; this module only says what goes on it.

pub mod declaration;

pub use self::declaration::{InsuranceKind, Relationship, SelfDeclaration, Sex};
