//! The facility the desk works for (医療機関・薬局).

use std::fmt;

use super::text::normalize_width;

/// 医療機関コード (medical institution code, 薬局コード for a pharmacy): 10 digits, the first
/// two the prefecture (都道府県番号 01–47). Full-width digits are accepted and stored
/// half-width, as everything the desk sends is.
#[derive(Clone, PartialEq, Eq)]
pub struct FacilityCode(String);

/// Why a text is not a 医療機関コード; the display is the precise English detail for logs,
/// each caller says it to the desk in its own words (the settings field, the claim input).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not 10 digits starting with a prefecture code 01-47")]
pub struct FacilityCodeError(String);

impl FacilityCode {
    pub fn parse(input: &str) -> Result<Self, FacilityCodeError> {
        let s = normalize_width(input);
        let prefecture = s.get(..2).and_then(|p| p.parse::<u8>().ok());
        if s.len() != 10
            || !s.bytes().all(|b| b.is_ascii_digit())
            || !matches!(prefecture, Some(1..=47))
        {
            return Err(FacilityCodeError(s));
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for FacilityCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FacilityCode({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facility_codes_are_ten_digits_with_a_prefecture() {
        assert!(FacilityCode::parse("１３１２３４５６７８").is_ok());
        for bad in [
            "131234567",
            "13123456789",
            "4812345678",
            "0012345678",
            "13123456a8",
        ] {
            assert!(FacilityCode::parse(bad).is_err(), "{bad}");
        }
    }
}
