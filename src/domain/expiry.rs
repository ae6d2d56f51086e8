//! Expiry of the user-authentication certificate (電子証明書の有効期限), relative to a check date.
//!
//! Everything here is in Japan Standard Time calendar dates: a certificate whose notAfter is
//! 14:59:59Z is valid through that day in Japan, and the desk asks "on the day of the visit".
//!
//! After expiry the online system still confirms 資格 (but shares no medical information) for
//! a three-month grace period, counted from the end of the expiry month (a certificate expiring
//! in February works until the end of May): confirmed by public municipal notices. The other
//! reading, three months from the expiry date itself, is kept only as a setting
//! (`[card] grace_end = "from-expiry-date"`; default `end-of-month`).
//!
//! Source: MHLW's slides 「マイナ保険証の利用促進等について」 (autumn 2024), slide
//! 「電子証明書の有効期限の状況に応じたマイナ保険証の利用」: renewal notices and reader alerts
//! from 3 months before expiry, and 「12月２日以降、電子証明書の有効期限が切れても３カ月間は
//! 引き続きオンライン資格確認が可能」; where the 3 months end: 多摩市's notice 「電子証明書の有効
//! 期限が切れても、3か月はマイナ保険証として利用できます」 (2025-05-15: 「有効期限が2月の場合、
//! 5月末までマイナ保険証として利用できます。」). Grace since 2024-12-02, until further notice;
//! confirmed. Details and the setting in `docs/domain.md#certificate-expiry`.

use serde::{Deserialize, Serialize};
use time::{Date, Month, OffsetDateTime, UtcOffset};

/// Japan Standard Time (UTC+9, no daylight saving).
pub const JST: UtcOffset = match UtcOffset::from_hms(9, 0, 0) {
    Ok(o) => o,
    Err(_) => UtcOffset::UTC,
};

/// The calendar date in Japan of an instant.
pub fn jst_date(at: OffsetDateTime) -> Date {
    at.to_offset(JST).date()
}

/// How the grace period after expiry is counted (有効期限切れ後の猶予期間).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GraceEnd {
    /// Three months after the end of the expiry month (default; the confirmed reading).
    #[default]
    EndOfMonth,
    /// Three months after the expiry date itself (kept as a setting for a service that
    /// counts so; not the published rule).
    FromExpiryDate,
}

impl std::str::FromStr for GraceEnd {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "end-of-month" => Ok(GraceEnd::EndOfMonth),
            "from-expiry-date" => Ok(GraceEnd::FromExpiryDate),
            other => Err(format!(
                "unknown grace rule {other:?} (end-of-month | from-expiry-date)"
            )),
        }
    }
}

/// Where a certificate stands on the check date.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum CertificateExpiry {
    /// 有効
    Valid,
    /// 有効期限まで3か月以内: still valid; ask the patient to renew at their municipality.
    ExpiringSoon { expires_on: Date },
    /// 有効期限切れ(猶予期間中): 資格 can still be confirmed until `grace_until` inclusive.
    ExpiredGrace { expired_on: Date, grace_until: Date },
    /// 有効期限切れ: no online confirmation; the insurer issues a 資格確認書.
    Expired { expired_on: Date },
}

impl CertificateExpiry {
    /// The state for a certificate that is valid through `not_after` (JST date), checked on
    /// `today` (JST date).
    pub fn on(not_after: Date, today: Date, grace: GraceEnd) -> Self {
        if today <= not_after {
            if today >= add_months(not_after, -3) {
                CertificateExpiry::ExpiringSoon {
                    expires_on: not_after,
                }
            } else {
                CertificateExpiry::Valid
            }
        } else {
            let grace_until = match grace {
                GraceEnd::FromExpiryDate => add_months(not_after, 3),
                GraceEnd::EndOfMonth => last_day_of_month(add_months(first_of_month(not_after), 3)),
            };
            if today <= grace_until {
                CertificateExpiry::ExpiredGrace {
                    expired_on: not_after,
                    grace_until,
                }
            } else {
                CertificateExpiry::Expired {
                    expired_on: not_after,
                }
            }
        }
    }

    /// snake_case name for JSON (`valid` | `expiring_soon` | `expired_grace` | `expired`).
    pub fn name(&self) -> &'static str {
        match self {
            CertificateExpiry::Valid => "valid",
            CertificateExpiry::ExpiringSoon { .. } => "expiring_soon",
            CertificateExpiry::ExpiredGrace { .. } => "expired_grace",
            CertificateExpiry::Expired { .. } => "expired",
        }
    }

    /// What the desk tells the patient, in Japanese.
    pub fn desk_message(&self) -> String {
        let d = |d: &Date| format!("{}年{}月{}日", d.year(), u8::from(d.month()), d.day());
        match self {
            CertificateExpiry::Valid => "電子証明書は有効です。".into(),
            CertificateExpiry::ExpiringSoon { expires_on } => format!(
                "電子証明書の有効期限が近づいています({}まで)。お住まいの市区町村で更新してください。",
                d(expires_on)
            ),
            CertificateExpiry::ExpiredGrace { expired_on, grace_until } => format!(
                "電子証明書の有効期限が切れています({}まで)。{}までは資格確認のみ可能です。早めに更新してください。",
                d(expired_on),
                d(grace_until)
            ),
            CertificateExpiry::Expired { expired_on } => format!(
                "電子証明書の有効期限が切れています({}まで)。オンライン資格確認はできません。資格確認書などで確認します。",
                d(expired_on)
            ),
        }
    }
}

/// `date` moved by `months`, the day clamped to the target month's length (1/31 + 1 → 2/28).
pub fn add_months(date: Date, months: i32) -> Date {
    let index = date.year() * 12 + i32::from(u8::from(date.month())) - 1 + months;
    let (year, month0) = (index.div_euclid(12), index.rem_euclid(12));
    // month0 is 0..=11 by construction.
    let month = Month::try_from(month0 as u8 + 1).unwrap_or(Month::January);
    let day = date.day().min(month.length(year));
    Date::from_calendar_date(year, month, day).unwrap_or(date)
}

fn first_of_month(date: Date) -> Date {
    date.replace_day(1).unwrap_or(date)
}

fn last_day_of_month(date: Date) -> Date {
    date.replace_day(date.month().length(date.year()))
        .unwrap_or(date)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn not_after_at_1459z_is_the_last_valid_day_in_japan() {
        assert_eq!(
            jst_date(datetime!(2029-04-01 14:59:59 UTC)),
            date!(2029 - 04 - 01)
        );
        assert_eq!(
            jst_date(datetime!(2029-04-01 15:00:00 UTC)),
            date!(2029 - 04 - 02)
        );
    }

    #[test]
    fn valid_then_expiring_soon_three_months_before() {
        let na = date!(2027 - 05 - 31);
        let g = GraceEnd::default();
        assert_eq!(
            CertificateExpiry::on(na, date!(2027 - 02 - 27), g),
            CertificateExpiry::Valid
        );
        // 5/31 − 3 months = 2/28 (clamped): expiring soon from that day on.
        assert_eq!(
            CertificateExpiry::on(na, date!(2027 - 02 - 28), g).name(),
            "expiring_soon"
        );
        assert_eq!(CertificateExpiry::on(na, na, g).name(), "expiring_soon");
    }

    #[test]
    fn the_day_after_expiry_starts_the_grace_period() {
        let na = date!(2026 - 11 - 10);
        let s = CertificateExpiry::on(na, date!(2026 - 11 - 11), GraceEnd::EndOfMonth);
        assert_eq!(
            s,
            CertificateExpiry::ExpiredGrace {
                expired_on: na,
                grace_until: date!(2027 - 02 - 28)
            }
        );
    }

    #[test]
    fn grace_ends_by_the_configured_rule() {
        let na = date!(2026 - 11 - 10);
        let eom = GraceEnd::EndOfMonth;
        let fed = GraceEnd::FromExpiryDate;
        assert_eq!(
            CertificateExpiry::on(na, date!(2027 - 02 - 10), fed).name(),
            "expired_grace"
        );
        assert_eq!(
            CertificateExpiry::on(na, date!(2027 - 02 - 11), fed).name(),
            "expired"
        );
        assert_eq!(
            CertificateExpiry::on(na, date!(2027 - 02 - 28), eom).name(),
            "expired_grace"
        );
        assert_eq!(
            CertificateExpiry::on(na, date!(2027 - 03 - 01), eom).name(),
            "expired"
        );
    }

    #[test]
    fn months_clamp_and_cross_years() {
        assert_eq!(add_months(date!(2027 - 01 - 31), 1), date!(2027 - 02 - 28));
        assert_eq!(add_months(date!(2028 - 01 - 31), 1), date!(2028 - 02 - 29));
        assert_eq!(add_months(date!(2026 - 11 - 30), 3), date!(2027 - 02 - 28));
        assert_eq!(add_months(date!(2027 - 02 - 15), -3), date!(2026 - 11 - 15));
    }

    #[test]
    fn grace_rules_parse_from_config_words() {
        assert_eq!("end-of-month".parse(), Ok(GraceEnd::EndOfMonth));
        assert_eq!("from-expiry-date".parse(), Ok(GraceEnd::FromExpiryDate));
        assert!("tomorrow".parse::<GraceEnd>().is_err());
    }

    #[test]
    fn every_state_speaks_japanese() {
        let na = date!(2026 - 11 - 10);
        for today in [
            date!(2026 - 01 - 01),
            date!(2026 - 10 - 01),
            date!(2026 - 12 - 01),
            date!(2027 - 06 - 01),
        ] {
            let m = CertificateExpiry::on(na, today, GraceEnd::EndOfMonth).desk_message();
            assert!(m.contains("電子証明書"), "{m}");
        }
    }
}
