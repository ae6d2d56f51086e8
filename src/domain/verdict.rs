//! The verdict of an eligibility check (資格確認の結果), as the desk and the claim path use it.
//!
//! A [`Verdict`] says what happened (its [`VerdictKind`]), carries the qualification records
//! the system returned, the ratio to charge, and the next step on the claim path. It is built
//! from the online answer by `online::interpret` or from a transport failure, and consumed by
//! the UI, the CLI and the claim-path rules.

use serde::Serialize;
use time::Date;

use super::numbers::{InsurerKind, InsurerNumber};
use super::public_expense::PublicExpense;
use super::ratio::{ratio_for_age, Ratio};

/// 高齢受給者 information (ages 70–74).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ElderlyInfo {
    pub ratio: Option<Ratio>,
    pub valid_from: Option<Date>,
    pub valid_until: Option<Date>,
}

/// 限度額適用 information (shared only with the patient's consent).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LimitInfo {
    /// 限度額区分, e.g. `A03`.
    pub classification: String,
    pub valid_from: Option<Date>,
    pub valid_until: Option<Date>,
}

/// One qualification record (資格情報).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Qualification {
    /// 被保険者証区分 code (`01` 一般, …).
    pub card_classification: Option<String>,
    pub insurer_number: Option<InsurerNumber>,
    pub insurer_name: Option<String>,
    /// 記号
    pub symbol: Option<String>,
    /// 番号
    pub number: Option<String>,
    /// 枝番
    pub branch: Option<String>,
    /// 本人・家族: `1` 本人, `2` 家族.
    pub personal_family: Option<String>,
    /// 被保険者氏名 (the head of household).
    pub insured_name: Option<String>,
    /// 氏名 (may contain `●`, shown as is).
    pub name: Option<String>,
    /// 氏名カナ (half-width katakana as received).
    pub name_kana: Option<String>,
    /// `1` male, `2` female, `3` unset.
    pub sex: Option<String>,
    pub birthdate: Option<Date>,
    pub address: Option<String>,
    pub post_number: Option<String>,
    pub qualification_date: Option<Date>,
    pub disqualification_date: Option<Date>,
    /// 資格喪失事由 (`01` death, `02` welfare, `03` other insurance, `99` other).
    pub reason_of_loss: Option<String>,
    pub card_valid_from: Option<Date>,
    /// Often absent: absence is never "expired".
    pub card_expires: Option<Date>,
    /// 一部負担金割合 stated by the answer (`InsuredPartialContributionRatio`); the service
    /// states it for 後期高齢者, but nothing stops it appearing on another record.
    pub partial_contribution_ratio: Option<Ratio>,
    pub elderly: Option<ElderlyInfo>,
    pub limit: Option<LimitInfo>,
    pub preschool: Option<String>,
    /// The facility's own patient id, when registered.
    pub reference_number: Option<String>,
}

/// Where the ratio to charge came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RatioSource {
    /// `InsuredPartialContributionRatio` on a 後期高齢者 record (insurer 法別 39).
    LateElderlyRatio,
    /// `InsuredPartialContributionRatio` on any other record: the answer's stated ratio, not
    /// a 後期高齢者 one (named as it is, so a log or a claim never calls it 後期高齢者).
    StatedRatio,
    /// 高齢受給者 information valid on the check date.
    ElderlyRecipient,
    /// The age rules, from the birth date.
    Age,
}

impl Qualification {
    /// The ratio to charge on `on`: what the answer states, else the age rules.
    pub fn ratio(&self, on: Date) -> Option<(Ratio, RatioSource)> {
        if let Some(r) = self.partial_contribution_ratio {
            let late_elderly = self
                .insurer_number
                .as_ref()
                .is_some_and(|n| n.kind() == InsurerKind::LateElderly);
            let source = if late_elderly {
                RatioSource::LateElderlyRatio
            } else {
                RatioSource::StatedRatio
            };
            return Some((r, source));
        }
        if let Some(e) = &self.elderly {
            let in_force =
                e.valid_from.is_none_or(|f| f <= on) && e.valid_until.is_none_or(|u| on <= u);
            if let (Some(r), true) = (e.ratio, in_force) {
                return Some((r, RatioSource::ElderlyRecipient));
            }
        }
        self.birthdate
            .map(|b| (ratio_for_age(b, on, false), RatioSource::Age))
    }
}

/// What the check found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerdictKind {
    /// 有効
    Valid,
    /// 有効, but the card's certificate expired and is in its grace period: qualification
    /// only, no medical information shared.
    CertificateExpiredGrace,
    /// 無効 (qualification lost, no newer one registered): the old numbers are known.
    Invalid,
    /// 無効(新しい資格あり)
    InvalidNewExists,
    /// 該当資格なし
    NoRecord,
    /// 複数該当
    Several,
    /// The certificate expired beyond grace.
    CertificateExpired,
    /// 利用登録なし
    NotRegistered,
    /// 利用登録解除
    RegistrationCancelled,
    /// カード返納
    CardReturned,
    /// 電子証明書失効
    CertificateRevoked,
    /// The system answered with an error, or something that does not answer our request.
    ServerError,
    /// The system could not be reached (network, TLS trust).
    Unreachable,
    /// No answer within the configured time.
    Timeout,
    /// The system answered about somebody else (照会と異なる方の回答): the numbers or birth
    /// date in the answer are not those asked for, or it answers another request. Never
    /// believed, never valid: a lying or misrouted server, for the system administrator.
    AnswerMismatch,
}

impl VerdictKind {
    /// Every kind, for exhaustive tests and lists.
    pub const ALL: [VerdictKind; 15] = [
        VerdictKind::Valid,
        VerdictKind::CertificateExpiredGrace,
        VerdictKind::Invalid,
        VerdictKind::InvalidNewExists,
        VerdictKind::NoRecord,
        VerdictKind::Several,
        VerdictKind::CertificateExpired,
        VerdictKind::NotRegistered,
        VerdictKind::RegistrationCancelled,
        VerdictKind::CardReturned,
        VerdictKind::CertificateRevoked,
        VerdictKind::ServerError,
        VerdictKind::Unreachable,
        VerdictKind::Timeout,
        VerdictKind::AnswerMismatch,
    ];

    /// Whether the service gave no usable answer (down, slow, erroring or answering about
    /// somebody else): the check is not done and is confirmed again later (事後確認).
    pub fn is_system_failure(self) -> bool {
        matches!(
            self,
            VerdictKind::ServerError
                | VerdictKind::Unreachable
                | VerdictKind::Timeout
                | VerdictKind::AnswerMismatch
        )
    }
}

/// The next step at the desk and on the claim (請求) path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NextStep {
    /// Charge the ratio, claim with these numbers.
    ClaimNormally,
    /// Use the newer qualification the system knows of.
    UseNewerQualification,
    /// Several records: choose the right one with the patient.
    ChooseWithPatient,
    /// Claim path ①: current numbers from what the patient shows (マイナポータル, 資格情報の
    /// お知らせ, 資格確認書, a past record), else ③ self-declaration.
    ConfirmByDocuments,
    /// Claim path ① if the patient can show current numbers, else ② with the old numbers.
    DocumentsOrOldNumbers,
    /// The system is not answering: try again shortly, meanwhile ① documents (the check is
    /// confirmed afterwards, 事後確認).
    RetryOrDocuments,
}

impl NextStep {
    pub fn desk_message(self) -> &'static str {
        match self {
            NextStep::ClaimNormally => "表示の負担割合で会計し、この番号で請求します。",
            // The verdict's headline already says what happened (「新しい資格があります」,
            // 「複数の資格が該当しました」, 「資格は無効です」): the next step only says what to
            // do, so no sentence is said twice (issue 13).
            NextStep::UseNewerQualification => "新しい資格情報で受付してください。",
            NextStep::ChooseWithPatient => "患者さんと一緒に正しい資格を選んでください。",
            NextStep::ConfirmByDocuments => {
                "資格確認書、資格情報のお知らせ、マイナポータルの画面などで資格を確認してください。何もない場合は被保険者資格申立書を記入していただきます。"
            }
            NextStep::DocumentsOrOldNumbers => {
                "現在の資格が分かるもの(資格確認書・お知らせ・マイナポータル)を確認し、なければ以前の資格情報で請求します。"
            }
            NextStep::RetryOrDocuments => {
                "少し待って再照会するか、資格確認書などで確認してください(後で自動的に再確認します)。"
            }
        }
    }
}

/// A note or error code from the answer (ProcessingResultCode / Message, or ErrorCode).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ResultNote {
    pub code: String,
    pub message: String,
}

/// The result of one eligibility check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Verdict {
    pub kind: VerdictKind,
    /// QualificationValidity (1–5) when the system gave one.
    pub validity: Option<u8>,
    /// The records returned; for [`VerdictKind::InvalidNewExists`] the newer one first.
    pub qualifications: Vec<Qualification>,
    /// The ratio to charge, when one qualification applies.
    pub ratio: Option<Ratio>,
    pub ratio_source: Option<RatioSource>,
    pub next_step: NextStep,
    /// 公費 / 医療費助成 entitlements the answer carried (PMH-linked 受給者証), in the
    /// answer's order; the desk adds paper ones (`domain::public_expense`).
    pub public_expenses: Vec<PublicExpense>,
    pub note: Option<ResultNote>,
    /// Precise English detail for logs (transport failures, inconsistent answers).
    pub detail: Option<String>,
}

impl Verdict {
    /// A verdict without qualification data (errors and failures).
    pub fn bare(kind: VerdictKind, next_step: NextStep) -> Self {
        Verdict {
            kind,
            validity: None,
            qualifications: Vec::new(),
            ratio: None,
            ratio_source: None,
            next_step,
            public_expenses: Vec::new(),
            note: None,
            detail: None,
        }
    }

    /// The record the desk acts on: the valid (or newer) one, or the old one for 無効.
    pub fn primary(&self) -> Option<&Qualification> {
        match self.kind {
            VerdictKind::Several => None,
            _ => self.qualifications.first(),
        }
    }

    /// For 無効(新しい資格あり): the new qualification when the answer carries it — a record
    /// still in force (no 資格喪失日) with its 保険者番号 and 番号 — so the desk can finish
    /// with it or check it by number. `None` for any other verdict, or when the answer
    /// names no usable newer record (then only the claim path is left).
    ///
    /// Source: S12 of `docs/domain.md` (QualificationValidity `3`, 無効・新しい資格あり: the
    /// answer lists the person's records, `docs/online-api.md`); the record in force is put
    /// first by `online::interpret`. First day: the service's; last day: until further notice.
    pub fn newer_qualification(&self) -> Option<&Qualification> {
        if self.kind != VerdictKind::InvalidNewExists {
            return None;
        }
        self.qualifications.first().filter(|q| {
            q.disqualification_date.is_none() && q.insurer_number.is_some() && q.number.is_some()
        })
    }

    /// The headline the desk shows, in Japanese.
    pub fn desk_message(&self) -> String {
        let headline = match self.kind {
            VerdictKind::Valid => "資格は有効です。",
            VerdictKind::CertificateExpiredGrace => {
                "資格は有効です(電子証明書の有効期限切れ・猶予期間中のため資格情報のみ)。カードの更新をご案内ください。"
            }
            VerdictKind::Invalid => "資格は無効です。",
            VerdictKind::InvalidNewExists => "この資格は無効ですが、新しい資格があります。",
            VerdictKind::NoRecord => "資格情報が見つかりませんでした(該当資格なし)。",
            VerdictKind::Several => "複数の資格が該当しました。",
            VerdictKind::CertificateExpired => {
                "電子証明書の有効期限が切れているため、オンラインで確認できません。"
            }
            VerdictKind::NotRegistered => {
                "このマイナンバーカードは健康保険証としての利用登録がされていません。"
            }
            VerdictKind::RegistrationCancelled => "健康保険証としての利用登録が解除されています。",
            VerdictKind::CardReturned => "このマイナンバーカードは返納されています。",
            VerdictKind::CertificateRevoked => "電子証明書が失効しています。",
            VerdictKind::ServerError => "資格確認システムがエラーを返しました。",
            VerdictKind::Unreachable => "資格確認システムに接続できません。",
            VerdictKind::Timeout => "資格確認システムから時間内に応答がありません。",
            VerdictKind::AnswerMismatch => {
                "照会と異なる方の回答が返りました。この回答は使えません。システム管理者へ連絡してください。"
            }
        };
        format!("{headline}{}", self.next_step.desk_message())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn the_stated_ratio_wins_over_age() {
        let q = Qualification {
            insurer_number: InsurerNumber::parse("39280003").ok(),
            birthdate: Some(date!(1950 - 01 - 01)),
            partial_contribution_ratio: Some(Ratio::TWO),
            ..Default::default()
        };
        assert_eq!(
            q.ratio(date!(2026 - 11 - 21)),
            Some((Ratio::TWO, RatioSource::LateElderlyRatio))
        );
    }

    #[test]
    fn a_stated_ratio_is_late_elderly_only_on_a_late_elderly_record() {
        let mut q = Qualification {
            insurer_number: InsurerNumber::parse("01130012").ok(),
            birthdate: Some(date!(1980 - 04 - 01)),
            partial_contribution_ratio: Some(Ratio::THREE),
            ..Default::default()
        };
        assert_eq!(
            q.ratio(date!(2026 - 11 - 21)),
            Some((Ratio::THREE, RatioSource::StatedRatio))
        );
        q.insurer_number = InsurerNumber::parse("39280003").ok();
        assert_eq!(
            q.ratio(date!(2026 - 11 - 21)),
            Some((Ratio::THREE, RatioSource::LateElderlyRatio))
        );
    }

    #[test]
    fn an_answer_about_somebody_else_is_never_valid_and_says_so() {
        let kind = VerdictKind::AnswerMismatch;
        assert!(kind.is_system_failure());
        let m = Verdict::bare(kind, NextStep::RetryOrDocuments).desk_message();
        assert!(m.contains("照会と異なる方の回答"), "{m}");
        assert!(m.contains("システム管理者"), "{m}");
    }

    #[test]
    fn elderly_info_counts_only_while_in_force() {
        let q = Qualification {
            birthdate: Some(date!(1954 - 05 - 10)),
            elderly: Some(ElderlyInfo {
                ratio: Some(Ratio::THREE),
                valid_from: Some(date!(2026 - 08 - 01)),
                valid_until: Some(date!(2027 - 07 - 31)),
            }),
            ..Default::default()
        };
        assert_eq!(
            q.ratio(date!(2026 - 11 - 21)),
            Some((Ratio::THREE, RatioSource::ElderlyRecipient))
        );
        assert_eq!(
            q.ratio(date!(2027 - 08 - 01)),
            Some((Ratio::TWO, RatioSource::Age))
        );
    }

    #[test]
    fn the_newer_qualification_is_the_current_record_of_an_invalid_new_exists() {
        let old = Qualification {
            insurer_number: InsurerNumber::parse("01140011").ok(),
            number: Some("77".into()),
            disqualification_date: Some(date!(2026 - 09 - 30)),
            ..Default::default()
        };
        let new = Qualification {
            insurer_number: InsurerNumber::parse("06140230").ok(),
            number: Some("10203".into()),
            ..Default::default()
        };
        let mut v = Verdict::bare(
            VerdictKind::InvalidNewExists,
            NextStep::UseNewerQualification,
        );
        v.qualifications = vec![new.clone(), old.clone()];
        assert_eq!(v.newer_qualification(), Some(&new));
        // Only the lost record: nothing to finish with.
        v.qualifications = vec![old.clone()];
        assert_eq!(v.newer_qualification(), None);
        // Another verdict has no "newer" record.
        v.kind = VerdictKind::Valid;
        v.qualifications = vec![new];
        assert_eq!(v.newer_qualification(), None);
    }

    #[test]
    fn without_a_birth_date_there_is_no_ratio_to_guess() {
        assert_eq!(Qualification::default().ratio(date!(2026 - 11 - 21)), None);
    }

    #[test]
    fn every_verdict_has_a_japanese_message_with_its_next_step() {
        for kind in VerdictKind::ALL {
            let v = Verdict::bare(kind, NextStep::ConfirmByDocuments);
            assert!(v.desk_message().contains("資格確認書"), "{kind:?}");
        }
        for step in [NextStep::RetryOrDocuments, NextStep::ConfirmByDocuments] {
            let m = Verdict::bare(VerdictKind::Unreachable, step).desk_message();
            assert_eq!(
                m.matches("接続できません").count(),
                1,
                "no repeated headline: {m}"
            );
        }
    }

    #[test]
    fn no_verdict_message_says_a_thing_twice() {
        let steps = [
            NextStep::ClaimNormally,
            NextStep::UseNewerQualification,
            NextStep::ChooseWithPatient,
            NextStep::ConfirmByDocuments,
            NextStep::DocumentsOrOldNumbers,
            NextStep::RetryOrDocuments,
        ];
        for kind in VerdictKind::ALL {
            for step in steps {
                let m = Verdict::bare(kind, step).desk_message();
                let mut seen = std::collections::HashSet::new();
                for sentence in m.split('。').filter(|s| !s.is_empty()) {
                    assert!(seen.insert(sentence), "{kind:?}/{step:?}: {m}");
                }
            }
        }
        for (kind, step, phrase) in [
            (
                VerdictKind::Invalid,
                NextStep::DocumentsOrOldNumbers,
                "無効",
            ),
            (
                VerdictKind::InvalidNewExists,
                NextStep::UseNewerQualification,
                "新しい資格があります",
            ),
            (
                VerdictKind::Several,
                NextStep::ChooseWithPatient,
                "複数の資格が該当",
            ),
        ] {
            let m = Verdict::bare(kind, step).desk_message();
            assert_eq!(m.matches(phrase).count(), 1, "{m}");
        }
    }
}
