//! What the patient pays today with insurance and 公費 (窓口負担).
//!
//! The insurance ratio applies first, then each 公費 in order of priority, each one lowering
//! what is left to pay (S7, DOMAIN §8: 「保険優先、公費は優先順位の順」). The desk does not know
//! the fee at reception, so [`DeskCharge`] is both a description for the screen and, given a
//! fee, the amount ([`DeskCharge::patient_pays`]).
//!
//! Rounding: the insurance share is rounded to 10 yen, 5 yen and above up (健康保険法 第75条,
//! S7); the project rounds a 公費 ratio share the same way (**unconfirmed** for municipal
//! schemes, which may round differently: the amount is shown as a guide, the receipt computer
//! makes the bill).

use serde::Serialize;
use time::Date;

use super::table::{BenefitTable, MonthlyCap, Share};
use super::PublicExpense;
use crate::domain::ratio::Ratio;

/// Why an entitlement does or does not change today's charge.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LineStatus {
    /// A rule of the table applies today.
    Applies,
    /// Outside the certificate's 有効期間 on the visit date.
    NotValidToday,
    /// No rule of the facility's table fits (unknown scheme, age or income outside every rule).
    NoRule,
}

/// One entitlement as the desk shows it today.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ExpenseLine {
    pub expense: PublicExpense,
    pub status: LineStatus,
    /// The table rule's name (or the national scheme's), for the screen.
    pub rule_name: Option<String>,
    #[serde(skip)]
    pub share: Option<Share>,
    /// The monthly cap in yen, resolved (a `certificate` cap without a printed amount is none).
    pub monthly_cap_yen: Option<u32>,
    pub priority: u16,
}

impl ExpenseLine {
    /// 「0円」「1回200円」「1割」「月上限5,000円」… or why it does not apply.
    pub fn share_ja(&self) -> String {
        match self.status {
            LineStatus::NotValidToday => return "有効期間外(本日は適用しません)".into(),
            LineStatus::NoRule => return "負担ルール未登録(本日の負担額は保険のみで計算)".into(),
            LineStatus::Applies => {}
        }
        let mut parts = Vec::new();
        match self.share {
            Some(Share::Nothing) => parts.push("自己負担なし(0円)".to_string()),
            Some(Share::Ratio(r)) => parts.push(format!("{}負担", r.label())),
            Some(Share::PerVisit(y)) => parts.push(format!("1回{}円", yen(y))),
            Some(Share::Insurance) | None => parts.push("保険の負担割合".to_string()),
        }
        if let Some(cap) = self.monthly_cap_yen {
            if self.share != Some(Share::Nothing) {
                parts.push(format!("月上限{}円", yen(cap)));
            }
        }
        parts.join("・")
    }
}

/// Today's charge: the insurance ratio and the 公費 lines in priority order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DeskCharge {
    /// The insurance ratio; `None` when the patient has no insurance (e.g. 生活保護 単独).
    pub insurance_ratio: Option<Ratio>,
    pub lines: Vec<ExpenseLine>,
}

/// `12345` → `12,345`.
pub fn yen(v: u32) -> String {
    let s = v.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `fee × tenths / 10`, rounded to 10 yen (5 yen and above up).
fn share_of(fee_yen: u32, tenths: u8) -> u32 {
    let raw = u64::from(fee_yen) * u64::from(tenths); // in tenths of a yen
    let rounded = (raw + 50) / 100 * 10;
    u32::try_from(rounded).unwrap_or(u32::MAX)
}

impl DeskCharge {
    /// Judges each entitlement on `on` against the table, for a patient born on `birth`.
    pub fn assess(
        insurance_ratio: Option<Ratio>,
        expenses: &[PublicExpense],
        table: &BenefitTable,
        birth: Option<Date>,
        on: Date,
    ) -> DeskCharge {
        let mut lines: Vec<ExpenseLine> = expenses
            .iter()
            .map(|e| {
                let scheme = e
                    .name
                    .clone()
                    .or_else(|| e.law_number().national_scheme().map(str::to_string));
                if !e.valid_on(on) {
                    return ExpenseLine {
                        expense: e.clone(),
                        status: LineStatus::NotValidToday,
                        rule_name: scheme,
                        share: None,
                        monthly_cap_yen: None,
                        priority: u16::MAX,
                    };
                }
                match table.rule_for(e, birth, on) {
                    Some(rule) => ExpenseLine {
                        expense: e.clone(),
                        status: LineStatus::Applies,
                        rule_name: Some(rule.name.clone()),
                        share: Some(rule.share),
                        monthly_cap_yen: match rule.monthly_cap {
                            Some(MonthlyCap::Yen(y)) => Some(y),
                            Some(MonthlyCap::Certificate) => e.monthly_cap_yen,
                            None => None,
                        },
                        priority: rule.priority,
                    },
                    None => ExpenseLine {
                        expense: e.clone(),
                        status: LineStatus::NoRule,
                        rule_name: scheme,
                        share: None,
                        monthly_cap_yen: None,
                        priority: u16::MAX,
                    },
                }
            })
            .collect();
        // Stable: equal priorities keep the order the answer or the desk gave.
        lines.sort_by_key(|l| l.priority);
        DeskCharge {
            insurance_ratio,
            lines,
        }
    }

    /// The lines that change today's charge, in order of priority (第1公費, 第2公費 …).
    pub fn applying(&self) -> impl Iterator<Item = &ExpenseLine> {
        self.lines
            .iter()
            .filter(|l| l.status == LineStatus::Applies)
    }

    /// What the patient pays for a visit costing `fee_yen` (10割), having already paid
    /// `paid_this_month_yen` at this facility this month under a capped scheme.
    pub fn patient_pays(&self, fee_yen: u32, paid_this_month_yen: u32) -> u32 {
        let mut pay = match self.insurance_ratio {
            Some(r) => share_of(fee_yen, r.tenths()),
            None => fee_yen,
        };
        for line in self.applying() {
            pay = match line.share {
                Some(Share::Nothing) => 0,
                Some(Share::Ratio(r)) => pay.min(share_of(fee_yen, r.tenths())),
                Some(Share::PerVisit(y)) => pay.min(y),
                Some(Share::Insurance) | None => pay,
            };
            if let Some(cap) = line.monthly_cap_yen {
                pay = pay.min(cap.saturating_sub(paid_this_month_yen));
            }
        }
        pay
    }

    /// One line for the desk: what the patient pays today, in words.
    pub fn today_ja(&self) -> String {
        let applying: Vec<&ExpenseLine> = self.applying().collect();
        if applying.iter().any(|l| l.share == Some(Share::Nothing)) {
            return "0円(公費負担)".into();
        }
        let mut ratio = self.insurance_ratio;
        let mut per_visit: Option<u32> = None;
        let mut cap: Option<u32> = None;
        for l in &applying {
            match l.share {
                Some(Share::Ratio(r)) => ratio = Some(ratio.map_or(r, |x| x.min(r))),
                Some(Share::PerVisit(y)) => per_visit = Some(per_visit.map_or(y, |x| x.min(y))),
                _ => {}
            }
            if let Some(c) = l.monthly_cap_yen {
                cap = Some(cap.map_or(c, |x| x.min(c)));
            }
        }
        let mut parts = Vec::new();
        match (per_visit, ratio) {
            (Some(y), _) => parts.push(format!("1回{}円", yen(y))),
            (None, Some(r)) => parts.push(r.label()),
            (None, None) => parts.push("全額(10割)".into()),
        }
        if let Some(c) = cap {
            parts.push(format!("月上限{}円", yen(c)));
        }
        parts.join("・")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::numbers::PublicPayerNumber;
    use crate::domain::public_expense::PublicExpenseSource;
    use time::macros::date;

    fn payer(body: &str) -> PublicPayerNumber {
        let digits: Vec<u8> = body.bytes().map(|b| b - b'0').collect();
        let d = crate::domain::numbers::check_digit(&digits);
        PublicPayerNumber::parse(&format!("{body}{d}")).expect("payer")
    }

    fn entitlement(body: &str, cap: Option<u32>) -> PublicExpense {
        PublicExpense {
            payer: payer(body),
            recipient: None,
            valid_from: Some(date!(2026 - 04 - 01)),
            valid_until: Some(date!(2027 - 03 - 31)),
            income_category: None,
            monthly_cap_yen: cap,
            name: None,
            source: PublicExpenseSource::Online,
        }
    }

    const TABLE: &str = r#"
version = 1
[[rule]]
name = "生活保護"
law = "12"
share = "none"
[[rule]]
name = "難病"
law = "54"
share = "ratio"
ratio = 2
monthly_cap = "certificate"
[[rule]]
name = "子ども"
law = "88"
share = "per-visit"
per_visit_yen = 200
[[rule]]
name = "ひとり親"
law = "81"
share = "ratio"
ratio = 1
monthly_cap_yen = 18000
"#;

    fn charge(ratio: Option<Ratio>, es: &[PublicExpense], on: Date) -> DeskCharge {
        let t = BenefitTable::parse(TABLE).expect("table");
        DeskCharge::assess(ratio, es, &t, Some(date!(1980 - 05 - 05)), on)
    }

    const DAY: Date = date!(2026 - 12 - 03);

    #[test]
    fn insurance_alone_rounds_to_ten_yen() {
        let c = charge(Some(Ratio::THREE), &[], DAY);
        assert_eq!(c.patient_pays(12_345, 0), 3_700); // 3703.5 → 3700
        assert_eq!(c.patient_pays(12_350, 0), 3_710); // 3705 → 3710
        assert_eq!(c.today_ja(), "3割");
    }

    #[test]
    fn welfare_alone_pays_nothing_even_without_insurance() {
        let c = charge(None, &[entitlement("1213601", None)], DAY);
        assert_eq!(c.patient_pays(50_000, 0), 0);
        assert_eq!(c.today_ja(), "0円(公費負担)");
    }

    #[test]
    fn per_visit_amount_never_exceeds_the_insurance_share() {
        let c = charge(Some(Ratio::THREE), &[entitlement("8813011", None)], DAY);
        assert_eq!(c.patient_pays(10_000, 0), 200);
        assert_eq!(c.patient_pays(500, 0), 150);
        assert_eq!(c.today_ja(), "1回200円");
    }

    #[test]
    fn the_certificate_cap_limits_the_month_and_the_ratio_is_reduced() {
        let c = charge(
            Some(Ratio::THREE),
            &[entitlement("5413011", Some(5_000))],
            DAY,
        );
        assert_eq!(c.patient_pays(10_000, 0), 2_000);
        assert_eq!(c.patient_pays(10_000, 4_000), 1_000);
        assert_eq!(c.patient_pays(10_000, 6_000), 0);
        assert_eq!(c.today_ja(), "2割・月上限5,000円");
        assert_eq!(c.lines[0].share_ja(), "2割負担・月上限5,000円");
    }

    #[test]
    fn national_schemes_come_before_municipal_ones_whatever_the_input_order() {
        let c = charge(
            Some(Ratio::THREE),
            &[
                entitlement("8113011", None),
                entitlement("5413011", Some(10_000)),
            ],
            DAY,
        );
        let laws: Vec<u8> = c
            .lines
            .iter()
            .map(|l| l.expense.law_number().value())
            .collect();
        assert_eq!(laws, vec![54, 81]);
        // 2割 of 100,000 = 20,000, capped at 10,000 by 難病; then ひとり親 1割 = 10,000, cap 18,000.
        assert_eq!(c.patient_pays(100_000, 0), 10_000);
    }

    #[test]
    fn an_expired_certificate_or_an_unknown_scheme_changes_nothing() {
        let mut old = entitlement("8813011", None);
        old.valid_until = Some(date!(2026 - 03 - 31));
        let c = charge(Some(Ratio::THREE), &[old], DAY);
        assert_eq!(c.lines[0].status, LineStatus::NotValidToday);
        assert_eq!(c.patient_pays(10_000, 0), 3_000);
        let c = charge(Some(Ratio::THREE), &[entitlement("9913011", None)], DAY);
        assert_eq!(c.lines[0].status, LineStatus::NoRule);
        assert_eq!(c.today_ja(), "3割");
    }

    #[test]
    fn yen_groups_thousands() {
        assert_eq!(yen(0), "0");
        assert_eq!(yen(200), "200");
        assert_eq!(yen(18_000), "18,000");
        assert_eq!(yen(1_234_567), "1,234,567");
    }
}
