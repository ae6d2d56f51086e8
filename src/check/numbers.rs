//! One check by numbers (個別照会): the 保険者番号・記号・番号・枝番 and birth date, asked of the
//! service for the visit date, and recorded.

use time::Date;

use super::{CheckRecorder, QualificationService};
use crate::domain::search::{NumberSearch, Search};
use crate::domain::Verdict;
use crate::journal::{CheckId, JournalError, NewCheck};

/// Asks the service by numbers, checked on `on`, and records the check. The verdict is the
/// desk's answer whatever the journal does; the second value says whether it is recorded.
pub fn check_by_numbers(
    service: &dyn QualificationService,
    journal: &dyn CheckRecorder,
    search: NumberSearch,
    on: Date,
) -> (Verdict, Result<CheckId, JournalError>) {
    let search = Search::Numbers(search);
    let verdict = service.confirm(&search, on);
    let recorded = journal.record(NewCheck::from_online(&search, on, &verdict));
    (verdict, recorded)
}
