//! Which step of the claim path applies, and why (請求の経路).
//!
//! Given the check date, what the card and the online check gave, the old numbers of an
//! 無効 answer and the evidence the patient shows, [`plan`] decides:
//! ① claim with the current numbers from the best accepted evidence;
//! ② claim with past numbers (旧資格請求) — of an 無効 answer, else of the facility's own past
//!    record — when nothing shows the current qualification, whatever failed online;
//! ③ the self-declaration (被保険者資格申立書) and an unknown receipt (不詳レセプト), when a
//!    card was presented and could not be confirmed;
//! or, with no card and nothing to show, [`ClaimStep::BringCertificate`]: the patient is asked
//! to bring the 資格確認書, and no receipt is made.
//!
//! The notes start with what the desk should ask for: the 資格確認書 after 利用登録解除 or 返納,
//! for a DV-restricted patient or a 日雇特例被保険者 ([`Circumstance`]), and for the elderly who
//! were sent one.
//!
//! It also says what the patient pays now and whether the numbers can be re-checked online
//! by number (個別照会); [`apply_reconfirmation`] turns the answer of that re-check into the
//! final plan.
//!
//! The order ①→②→③ is MHLW's (notice 保発0710第1号 of 2023-07-10, in the form of the slides
//! 「マイナ保険証の利用促進等について」 from 2024-12-02); each rule with its source and status is
//! in `docs/domain.md#claim-path`.

use serde::{Serialize, Serializer};
use time::Date;

use super::evidence::{
    Evidence, EvidenceKind, Note, ELDERLY_CERTIFICATE_AGE, ELDERLY_CERTIFICATE_FIRST_DAY,
    LATE_ELDERLY_ALL_CERTIFICATES_LAST_DAY,
};
use crate::domain::dates::add_years;
use crate::domain::numbers::InsuranceNumbers;
use crate::domain::ratio::{age_band, ratio_for_age, AgeBand, Ratio};
use crate::domain::verdict::{RatioSource, Verdict, VerdictKind};

/// What happened with the card and the online check before the claim path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CardOutcome {
    /// The online check answered (or failed) with this verdict.
    Checked(VerdictKind),
    /// The card could not be read (broken chip, reader failure).
    CardUnreadable,
    /// The PIN is blocked and visual confirmation was not possible.
    PinBlocked,
    /// The patient has no card with them (or no マイナ保険証).
    NoCard,
    /// The online qualification system (or the facility's line to it) is down.
    SystemDown,
}

impl CardOutcome {
    /// The name used in input and output JSON.
    pub fn code(self) -> &'static str {
        match self {
            CardOutcome::Checked(kind) => verdict_code(kind),
            CardOutcome::CardUnreadable => "card_unreadable",
            CardOutcome::PinBlocked => "pin_blocked",
            CardOutcome::NoCard => "no_card",
            CardOutcome::SystemDown => "system_down",
        }
    }

    /// Every accepted name, for input parsing.
    pub fn from_code(code: &str) -> Option<CardOutcome> {
        const OTHERS: [CardOutcome; 4] = [
            CardOutcome::CardUnreadable,
            CardOutcome::PinBlocked,
            CardOutcome::NoCard,
            CardOutcome::SystemDown,
        ];
        ALL_VERDICTS
            .iter()
            .map(|&k| CardOutcome::Checked(k))
            .chain(OTHERS)
            .find(|o| o.code() == code)
    }

    /// Why the online check gave nothing usable, as the start of a desk sentence.
    fn context_ja(self) -> &'static str {
        match self {
            CardOutcome::Checked(VerdictKind::Invalid) => {
                "オンライン資格確認の結果は「無効」でした。"
            }
            CardOutcome::Checked(VerdictKind::NoRecord) => {
                "オンライン資格確認で資格情報が見つかりませんでした。"
            }
            CardOutcome::Checked(VerdictKind::AnswerMismatch) => {
                "オンライン資格確認で照会と異なる方の回答が返りました(システム管理者へ連絡してください)。"
            }
            CardOutcome::Checked(
                VerdictKind::ServerError | VerdictKind::Unreachable | VerdictKind::Timeout,
            )
            | CardOutcome::SystemDown => "オンライン資格確認システムにつながりません。",
            CardOutcome::Checked(VerdictKind::CertificateExpired) => {
                "マイナンバーカードの電子証明書の有効期限が切れています。"
            }
            CardOutcome::Checked(VerdictKind::NotRegistered) => {
                "マイナンバーカードの保険証利用登録がありません。"
            }
            CardOutcome::Checked(VerdictKind::RegistrationCancelled) => {
                "マイナンバーカードの保険証利用登録が解除されています。"
            }
            CardOutcome::Checked(VerdictKind::CardReturned | VerdictKind::CertificateRevoked) => {
                "このマイナンバーカードは使えません(返納・失効)。"
            }
            CardOutcome::Checked(_) => "オンラインで資格を確認できませんでした。",
            CardOutcome::CardUnreadable => "マイナンバーカードを読み取れませんでした。",
            CardOutcome::PinBlocked => "暗証番号がロックされています。",
            CardOutcome::NoCard => "マイナンバーカードの提示がありません。",
        }
    }

    fn system_down(self) -> bool {
        match self {
            CardOutcome::SystemDown => true,
            CardOutcome::Checked(kind) => kind.is_system_failure(),
            _ => false,
        }
    }
}

const ALL_VERDICTS: [VerdictKind; 15] = VerdictKind::ALL;

/// The snake_case name `VerdictKind` serialises to (kept in one place with the enum's list).
fn verdict_code(kind: VerdictKind) -> &'static str {
    match kind {
        VerdictKind::Valid => "valid",
        VerdictKind::CertificateExpiredGrace => "certificate_expired_grace",
        VerdictKind::Invalid => "invalid",
        VerdictKind::InvalidNewExists => "invalid_new_exists",
        VerdictKind::NoRecord => "no_record",
        VerdictKind::Several => "several",
        VerdictKind::CertificateExpired => "certificate_expired",
        VerdictKind::NotRegistered => "not_registered",
        VerdictKind::RegistrationCancelled => "registration_cancelled",
        VerdictKind::CardReturned => "card_returned",
        VerdictKind::CertificateRevoked => "certificate_revoked",
        VerdictKind::ServerError => "server_error",
        VerdictKind::Unreachable => "unreachable",
        VerdictKind::Timeout => "timeout",
        VerdictKind::AnswerMismatch => "answer_mismatch",
    }
}

impl Serialize for CardOutcome {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

/// The situation at the desk, as the claim rules need it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Situation {
    /// The check date (the visit, in Japan).
    pub on: Date,
    pub outcome: CardOutcome,
    /// The patient's birth date, when known.
    pub birthdate: Option<Date>,
    /// 現役並み所得 (matters only from 70, when nothing states the ratio).
    pub high_income: bool,
    /// The numbers of the lost qualification, from an 無効 answer.
    pub old_numbers: Option<InsuranceNumbers>,
    /// What the patient shows, in the order shown.
    pub evidence: Vec<Evidence>,
    /// A circumstance the staff knows and no verdict shows (DV, 日雇特例).
    pub circumstance: Option<Circumstance>,
}

/// A circumstance no verdict shows, chosen by the staff: the 資格確認書 (or 受給資格者票) is
/// the patient's way to prove the qualification.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Circumstance {
    /// DV 被害者など: the patient's information is hidden from the online service and the
    /// portal (閲覧制限); the insurer issues a 資格確認書 without application.
    DvRestricted,
    /// 日雇特例被保険者: outside the online qualification service; proved by the
    /// 受給資格者票 (or a 資格確認書).
    DayLaborer,
}

impl Circumstance {
    /// Every circumstance with its input name.
    pub const ALL: [(&'static str, Circumstance); 2] = [
        ("dv_restricted", Circumstance::DvRestricted),
        ("day_laborer", Circumstance::DayLaborer),
    ];

    /// How the desk names it.
    pub fn label(self) -> &'static str {
        match self {
            Circumstance::DvRestricted => "DV被害などで資格情報の表示を制限している",
            Circumstance::DayLaborer => "日雇特例被保険者",
        }
    }
}

/// The steps of the claim path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimStep {
    /// No claim path: the online check answered with a qualification (有効, 新しい資格あり,
    /// 複数該当 to choose from); claim with the answer's numbers.
    Online,
    /// ① 現在の資格情報で請求.
    CurrentNumbers,
    /// ② 旧資格で請求.
    OldNumbers,
    /// ③ 被保険者資格申立書 + 不詳レセプト (a card was presented and could not be confirmed).
    SelfDeclaration,
    /// No card and no document: the patient is asked to bring the 資格確認書; the case is
    /// recorded, no receipt is made.
    BringCertificate,
}

impl ClaimStep {
    /// ①, ② or ③ as a number (none for [`ClaimStep::Online`]).
    pub fn number(self) -> Option<u8> {
        match self {
            ClaimStep::Online | ClaimStep::BringCertificate => None,
            ClaimStep::CurrentNumbers => Some(1),
            ClaimStep::OldNumbers => Some(2),
            ClaimStep::SelfDeclaration => Some(3),
        }
    }
}

/// Where the claim's numbers come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "source", content = "evidence", rename_all = "snake_case")]
pub enum NumbersSource {
    /// Read off accepted evidence.
    Evidence(EvidenceKind),
    /// The lost qualification of an 無効 answer.
    OldQualification,
    /// The facility's own past record, the patient unable to confirm that nothing changed (②).
    PastRecord,
    /// Confirmed online by number (個別照会).
    OnlineByNumber,
}

/// Why the ratio is what it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RatioBasis {
    /// Printed on the evidence and in force on the check date.
    Evidence,
    /// Stated by the online answer (後期高齢者, 高齢受給者).
    OnlineAnswer,
    /// The age rules, from the birth date.
    Age,
    /// Nothing known, not even the age: 3割 (the ratio for ages 6–69, when in doubt).
    InDoubt,
}

/// Evidence that did not count, with the reason.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RejectedEvidence {
    /// Its position in the input (0-based).
    pub index: usize,
    pub kind: EvidenceKind,
    pub reason_ja: String,
    pub reason_en: String,
}

/// When the re-check by number can be made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReconfirmWhen {
    /// The system answers: ask now.
    Now,
    /// The system is down: ask once it is back (事後確認).
    AfterRecovery,
}

/// A re-check by number (個別照会) the desk can make.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Reconfirm {
    pub numbers: InsuranceNumbers,
    pub birthdate: Date,
    /// The evidence is weak (a past record, an old card, a temporary rule, or step ③): the
    /// re-check should be made, not just may.
    pub advised: bool,
    pub when: ReconfirmWhen,
}

/// The outcome of a re-check applied to a plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Reconfirmation {
    pub verdict: VerdictKind,
    /// The plan now uses the confirmed numbers.
    pub applied: bool,
    pub reason_ja: String,
    pub reason_en: String,
}

/// What to do on the claim path, with the reasons to read out and to log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ClaimPlan {
    /// The check date (`check_date` in JSON, as in the input).
    #[serde(rename = "check_date")]
    pub on: Date,
    pub outcome: CardOutcome,
    pub step: ClaimStep,
    /// 1, 2 or 3 (absent for `online` and `bring_certificate`).
    pub step_number: Option<u8>,
    /// The sentence the desk reads out.
    pub reason_ja: String,
    /// The same for the log.
    pub reason_en: String,
    /// Further notes (temporary rules applied, ratios out of period …).
    pub notes: Vec<Note>,
    /// The numbers to claim with (① and ②).
    pub numbers: Option<InsuranceNumbers>,
    pub numbers_source: Option<NumbersSource>,
    /// Evidence that did not count, and why.
    pub rejected: Vec<RejectedEvidence>,
    /// What the patient pays now (absent for `online`: the answer states it).
    pub ratio: Option<Ratio>,
    pub ratio_basis: Option<RatioBasis>,
    /// Whether the numbers can be re-checked online by number.
    pub reconfirmable: bool,
    pub reconfirm: Option<Reconfirm>,
    /// The re-check's answer, once applied.
    pub reconfirmation: Option<Reconfirmation>,
}

/// Decides the claim path for `situation`.
pub fn plan(situation: &Situation) -> ClaimPlan {
    let on = situation.on;
    let outcome = situation.outcome;
    let mut rejected = Vec::new();
    let mut accepted = Vec::new();
    for (index, evidence) in situation.evidence.iter().enumerate() {
        match evidence.assess(on, situation.birthdate) {
            Ok(a) => accepted.push((evidence, a)),
            Err(r) => rejected.push(RejectedEvidence {
                index,
                kind: evidence.kind,
                reason_ja: r.ja,
                reason_en: r.en,
            }),
        }
    }
    let birthdate = situation
        .birthdate
        .or_else(|| situation.evidence.iter().find_map(|e| e.birthdate));
    let mut plan = ClaimPlan {
        on,
        outcome,
        step: ClaimStep::Online,
        step_number: None,
        reason_ja: String::new(),
        reason_en: String::new(),
        notes: Vec::new(),
        numbers: None,
        numbers_source: None,
        rejected,
        ratio: None,
        ratio_basis: None,
        reconfirmable: false,
        reconfirm: None,
        reconfirmation: None,
    };
    if let CardOutcome::Checked(
        kind @ (VerdictKind::Valid
        | VerdictKind::CertificateExpiredGrace
        | VerdictKind::InvalidNewExists
        | VerdictKind::Several),
    ) = outcome
    {
        let (ja, en) = match kind {
            VerdictKind::InvalidNewExists => (
                "オンライン資格確認で新しい資格が見つかりました。新しい資格情報で受付し、請求します。",
                "the online check found a newer qualification: use it",
            ),
            VerdictKind::Several => (
                "オンライン資格確認で複数の資格が見つかりました。患者さんと正しい資格を選び、その資格情報で請求します。",
                "several qualifications: choose the right one with the patient",
            ),
            _ => (
                "オンラインで資格を確認できています。資格確認の結果どおりに請求します。",
                "the online check confirmed the qualification: claim normally",
            ),
        };
        plan.reason_ja = ja.to_owned();
        plan.reason_en = en.to_owned();
        return plan;
    }
    let context = outcome.context_ja();
    accepted.sort_by_key(|(e, _)| e.kind.preference());
    let when = if outcome.system_down() {
        ReconfirmWhen::AfterRecovery
    } else {
        ReconfirmWhen::Now
    };
    if let Some((evidence, a)) = accepted.first() {
        let (ratio, basis) = ratio_to_charge(situation, a.ratio, birthdate);
        plan.step = ClaimStep::CurrentNumbers;
        plan.reason_ja = format!(
            "{context}{}で現在の資格を確認しました。この資格情報で請求します。窓口負担は{}です。",
            evidence.kind.label(),
            ratio.label()
        );
        plan.reason_en = format!(
            "{}: current qualification taken from {}; claim with these numbers, charge {} tenths",
            outcome.code(),
            evidence.kind.english(),
            ratio.tenths()
        );
        plan.notes = a.notes.clone();
        plan.numbers = Some(evidence.numbers.clone());
        plan.numbers_source = Some(NumbersSource::Evidence(evidence.kind));
        plan.ratio = Some(ratio);
        plan.ratio_basis = Some(basis);
        plan.reconfirm = birthdate.map(|birthdate| Reconfirm {
            numbers: evidence.numbers.clone(),
            birthdate,
            advised: a.reconfirm_advised,
            when,
        });
    } else if let Some((old, source)) = past_numbers(situation, birthdate) {
        let (ratio, basis) = ratio_to_charge(situation, None, birthdate);
        let from_ja = match source {
            NumbersSource::PastRecord => "以前の受診時の資格情報",
            _ => "資格(無効)の画面の以前の資格情報",
        };
        plan.step = ClaimStep::OldNumbers;
        plan.reason_ja = format!(
            "{context}現在の資格が分かるものがないため、{from_ja}で請求します(旧資格請求)。窓口負担は{}です。",
            ratio.label()
        );
        plan.reason_en = format!(
            "{}: no evidence of the current qualification: claim with the past numbers ({}), charge {} tenths",
            outcome.code(),
            match source {
                NumbersSource::PastRecord => "the facility's past record",
                _ => "the invalid answer",
            },
            ratio.tenths()
        );
        plan.numbers = Some(old.clone());
        plan.numbers_source = Some(source);
        plan.ratio = Some(ratio);
        plan.ratio_basis = Some(basis);
        plan.notes.push(Note::new(
            "新しい保険の番号が分かったら、その番号で資格を再確認してください。",
            "re-check once the patient brings the new numbers",
        ));
        // Past numbers of the facility's own record may still be current: the system can tell.
        if source == NumbersSource::PastRecord {
            plan.reconfirm = birthdate.map(|birthdate| Reconfirm {
                numbers: old.clone(),
                birthdate,
                advised: true,
                when,
            });
        }
    } else {
        let bring = outcome == CardOutcome::NoCard;
        if bring {
            // No card, nothing to show: not ③ (that is for a card that could not be
            // confirmed); the patient is asked to bring the 資格確認書.
            plan.step = ClaimStep::BringCertificate;
            plan.reason_ja = format!(
                "{context}資格を確認できる書類(資格確認書など)もお持ちでないため、資格を確認できません。次回までに資格確認書をお持ちいただくよう案内してください(お持ちでない場合は、加入している保険者に交付を申請できます)。受付の記録を残します。"
            );
            plan.reason_en =
                "no card and no document: ask the patient to bring the qualification certificate; record the case"
                    .into();
            plan.notes.push(Note::new(
                "本日の窓口負担は、資格を確認できるまで医療機関の取り決めに従ってください(被保険者資格申立書・不詳レセプトは、カードを提示して確認できなかった場合の手続きです)。",
                "today's charge is the facility's decision until the qualification is known (③ is for a card that could not be confirmed)",
            ));
        } else {
            let (ratio, basis) = ratio_to_charge(situation, None, birthdate);
            plan.step = ClaimStep::SelfDeclaration;
            plan.reason_ja = format!(
                "{context}資格を確認できるものがないため、被保険者資格申立書を記入していただき、不詳レセプトで請求します。窓口負担は{}です。",
                ratio.label()
            );
            plan.reason_en = format!(
                "nothing confirms a qualification: self-declaration and an unknown receipt, charge {} tenths",
                ratio.tenths()
            );
            plan.ratio = Some(ratio);
            plan.ratio_basis = Some(basis);
        }
        // Numbers from rejected evidence (an expired card, the notice alone) may still be
        // right: the system can tell. Not those of someone else (another birth date).
        plan.reconfirm = situation
            .evidence
            .iter()
            .filter(|e| e.birthdate.is_none() || e.birthdate == birthdate)
            .min_by_key(|e| e.kind.preference())
            .zip(birthdate)
            .map(|(e, birthdate)| Reconfirm {
                numbers: e.numbers.clone(),
                birthdate,
                advised: true,
                when,
            });
    }
    // What to ask for first, then the notes of the step.
    let mut notes = hints(situation, birthdate);
    notes.append(&mut plan.notes);
    plan.notes = notes;
    plan.step_number = plan.step.number();
    plan.reconfirmable = plan.reconfirm.is_some();
    plan
}

/// The past numbers for ② and where they come from: the lost qualification of an 無効 answer,
/// else a past record of the facility (whatever failed online, and even when the patient
/// cannot confirm that nothing changed), never someone else's (another birth date).
fn past_numbers(
    situation: &Situation,
    birthdate: Option<Date>,
) -> Option<(&InsuranceNumbers, NumbersSource)> {
    let invalid = situation.outcome == CardOutcome::Checked(VerdictKind::Invalid);
    match (&situation.old_numbers, invalid) {
        (Some(old), true) => Some((old, NumbersSource::OldQualification)),
        _ => situation
            .evidence
            .iter()
            .filter(|e| e.kind == EvidenceKind::PastRecord)
            .find(|e| e.birthdate.is_none() || birthdate.is_none() || e.birthdate == birthdate)
            .map(|e| (&e.numbers, NumbersSource::PastRecord)),
    }
}

/// What the desk should say first: the 資格確認書 is the way for a patient whose card cannot
/// be used for insurance (利用登録解除, 返納), who is hidden from the service (DV 等の閲覧制限)
/// or outside it (日雇特例被保険者), or who is an elderly patient who was sent one.
fn hints(situation: &Situation, birthdate: Option<Date>) -> Vec<Note> {
    let mut hints = Vec::new();
    let certificate_shown = situation
        .evidence
        .iter()
        .any(|e| e.kind == EvidenceKind::QualificationCertificate);
    match situation.outcome {
        CardOutcome::Checked(VerdictKind::RegistrationCancelled) => hints.push(Note::new(
            "保険証利用登録を解除した方には、保険者から資格確認書が交付されています。資格確認書で受付してください(お持ちでなければ、次回は必ずお持ちいただくよう案内してください)。",
            "registration cancelled: the insurer issues a qualification certificate; use it",
        )),
        CardOutcome::Checked(VerdictKind::CardReturned) => hints.push(Note::new(
            "マイナンバーカードを返納した方には、保険者から資格確認書が交付されています。資格確認書で受付してください(お持ちでなければ、次回は必ずお持ちいただくよう案内してください)。",
            "card returned: the insurer issues a qualification certificate; use it",
        )),
        _ => {}
    }
    match situation.circumstance {
        Some(Circumstance::DvRestricted) => hints.push(Note::new(
            "DV被害などで資格情報の表示を制限している方には、保険者から資格確認書が交付されています。資格確認書で受付してください。住所・連絡先の扱いには十分注意してください。",
            "display restricted (DV etc.): the insurer issues a qualification certificate; use it",
        )),
        Some(Circumstance::DayLaborer) => hints.push(Note::new(
            "日雇特例被保険者はオンライン資格確認の対象外です。受給資格者票(または資格確認書)で資格を確認してください。",
            "day labourer (日雇特例被保険者): outside the online service; use the 受給資格者票",
        )),
        None => {}
    }
    if let (Some(birth), false) = (birthdate, certificate_shown) {
        let on = situation.on;
        if on <= LATE_ELDERLY_ALL_CERTIFICATES_LAST_DAY && age_band(birth, on) == AgeBand::From75 {
            hints.push(Note::new(
                "後期高齢者の方には、令和8年7月31日までの暫定的な運用として、全員に資格確認書が交付されています。資格確認書をお持ちか確認してください。",
                "every 後期高齢者 was sent a qualification certificate (until 2026-07-31): ask for it",
            ));
        } else if on >= ELDERLY_CERTIFICATE_FIRST_DAY
            && add_years(birth, i32::from(ELDERLY_CERTIFICATE_AGE)) <= ELDERLY_CERTIFICATE_FIRST_DAY
        {
            hints.push(Note::new(
                "令和8年8月1日時点で85歳以上の方には、マイナ保険証の有無にかかわらず資格確認書が交付されています。資格確認書をお持ちか確認してください。",
                "85 or over on 2026-08-01: sent a qualification certificate whatever their card; ask for it",
            ));
        }
    }
    hints
}

/// The ratio to charge: what valid evidence states, else the age rules, else 3割.
fn ratio_to_charge(
    situation: &Situation,
    stated: Option<Ratio>,
    birthdate: Option<Date>,
) -> (Ratio, RatioBasis) {
    match (stated, birthdate) {
        (Some(r), _) => (r, RatioBasis::Evidence),
        (None, Some(b)) => (
            ratio_for_age(b, situation.on, situation.high_income),
            RatioBasis::Age,
        ),
        (None, None) => (Ratio::THREE, RatioBasis::InDoubt),
    }
}

/// Applies the answer of a re-check by number to `plan`: a valid answer makes it a confirmed
/// ① with the answer's numbers and ratio; any other answer leaves the plan and says why.
pub fn apply_reconfirmation(mut plan: ClaimPlan, verdict: &Verdict, on: Date) -> ClaimPlan {
    let confirmed = matches!(
        verdict.kind,
        VerdictKind::Valid | VerdictKind::CertificateExpiredGrace
    );
    let numbers = verdict.primary().and_then(|q| {
        Some(InsuranceNumbers {
            insurer_number: q.insurer_number.clone()?,
            symbol: q.symbol.clone(),
            number: q.number.clone()?,
            branch: q.branch.clone(),
        })
    });
    match (confirmed, numbers) {
        (true, Some(numbers)) => {
            if let Some((ratio, source)) = verdict.primary().and_then(|q| q.ratio(on)) {
                plan.ratio = Some(ratio);
                plan.ratio_basis = Some(match source {
                    RatioSource::Age => RatioBasis::Age,
                    _ => RatioBasis::OnlineAnswer,
                });
            }
            let ratio = plan.ratio.unwrap_or(Ratio::THREE);
            plan.step = ClaimStep::CurrentNumbers;
            plan.step_number = plan.step.number();
            plan.reason_ja = format!(
                "番号による資格確認(個別照会)で資格が有効と確認できました。確認した資格情報で請求します。窓口負担は{}です。",
                ratio.label()
            );
            plan.reason_en = format!(
                "re-check by number answered valid: claim with the confirmed numbers, charge {} tenths",
                ratio.tenths()
            );
            plan.numbers = Some(numbers);
            plan.numbers_source = Some(NumbersSource::OnlineByNumber);
            plan.reconfirmable = false;
            plan.reconfirm = None;
            plan.reconfirmation = Some(Reconfirmation {
                verdict: verdict.kind,
                applied: true,
                reason_ja: verdict.desk_message(),
                reason_en: "confirmed online by number".into(),
            });
        }
        (true, None) => {
            plan.reconfirmation = Some(Reconfirmation {
                verdict: verdict.kind,
                applied: false,
                reason_ja:
                    "照会の結果は有効でしたが資格情報が返されなかったため、計画は変えません。"
                        .into(),
                reason_en: "valid answer without qualification numbers".into(),
            });
        }
        (false, _) => {
            // What happens instead: the plan as it stands (a claim, or asking for the 資格確認書).
            let keep = if plan.step == ClaimStep::BringCertificate {
                "資格確認書をお持ちいただくよう案内します。"
            } else {
                "計画どおりに請求します。"
            };
            let (ja, en) = match verdict.kind {
                // The verdict's own message already says who to call: only what follows here.
                VerdictKind::AnswerMismatch => (
                    format!("この回答は使わず、{keep}"),
                    "the answer was about somebody else (not the numbers asked); not applied",
                ),
                VerdictKind::ServerError | VerdictKind::Unreachable | VerdictKind::Timeout => (
                    "照会できませんでした。システムの復旧後にもう一度照会してください。".into(),
                    "the re-check failed; try again later",
                ),
                VerdictKind::InvalidNewExists => (
                    "この番号の資格は無効で、新しい資格があります。患者さんに新しい番号を確認してください。".into(),
                    "these numbers are invalid and a newer qualification exists",
                ),
                VerdictKind::Invalid => (
                    format!("この番号の資格は無効です。現在の資格が分かるまで、{keep}"),
                    "these numbers are invalid",
                ),
                _ => (
                    format!("照会では資格を確認できませんでした。{keep}"),
                    "the re-check did not confirm a qualification",
                ),
            };
            plan.reconfirmation = Some(Reconfirmation {
                verdict: verdict.kind,
                applied: false,
                reason_ja: format!("{}{ja}", verdict.desk_message()),
                reason_en: format!("{}: {en}", verdict_code(verdict.kind)),
            });
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::super::evidence::tests::{evidence, numbers};
    use super::super::evidence::TEMPORARY_RULE_LAST_DAY;
    use super::super::evidence::{
        ELDERLY_CERTIFICATE_FIRST_DAY, LATE_ELDERLY_ALL_CERTIFICATES_LAST_DAY,
    };
    use super::*;
    use crate::domain::verdict::{NextStep, Qualification};
    use time::macros::date;

    const ON: Date = date!(2026 - 11 - 21);

    fn situation(outcome: CardOutcome) -> Situation {
        Situation {
            on: ON,
            outcome,
            birthdate: Some(date!(1980 - 04 - 01)),
            high_income: false,
            old_numbers: None,
            evidence: Vec::new(),
            circumstance: None,
        }
    }

    #[test]
    fn outcome_codes_round_trip_and_match_verdict_serialisation() {
        for kind in ALL_VERDICTS {
            let o = CardOutcome::Checked(kind);
            assert_eq!(CardOutcome::from_code(o.code()), Some(o));
            assert_eq!(
                serde_json::to_value(kind).ok(),
                Some(serde_json::Value::String(o.code().into()))
            );
        }
        assert_eq!(
            CardOutcome::from_code("pin_blocked"),
            Some(CardOutcome::PinBlocked)
        );
        assert_eq!(CardOutcome::from_code("nonsense"), None);
    }

    #[test]
    fn online_answers_need_no_claim_path() {
        for kind in [
            VerdictKind::Valid,
            VerdictKind::CertificateExpiredGrace,
            VerdictKind::InvalidNewExists,
            VerdictKind::Several,
        ] {
            let p = plan(&situation(CardOutcome::Checked(kind)));
            assert_eq!(p.step, ClaimStep::Online, "{kind:?}");
            assert_eq!(p.ratio, None);
            assert!(!p.reason_ja.is_empty());
        }
    }

    #[test]
    fn every_failed_outcome_without_evidence_is_step_three() {
        let failures = [
            CardOutcome::Checked(VerdictKind::Invalid),
            CardOutcome::Checked(VerdictKind::NoRecord),
            CardOutcome::Checked(VerdictKind::CertificateExpired),
            CardOutcome::Checked(VerdictKind::NotRegistered),
            CardOutcome::Checked(VerdictKind::RegistrationCancelled),
            CardOutcome::Checked(VerdictKind::CardReturned),
            CardOutcome::Checked(VerdictKind::CertificateRevoked),
            CardOutcome::Checked(VerdictKind::ServerError),
            CardOutcome::Checked(VerdictKind::Unreachable),
            CardOutcome::Checked(VerdictKind::Timeout),
            CardOutcome::CardUnreadable,
            CardOutcome::PinBlocked,
            CardOutcome::SystemDown,
        ];
        for outcome in failures {
            let p = plan(&situation(outcome));
            assert_eq!(p.step, ClaimStep::SelfDeclaration, "{outcome:?}");
            assert_eq!(p.step_number, Some(3));
            assert_eq!(p.ratio, Some(Ratio::THREE));
            assert_eq!(p.ratio_basis, Some(RatioBasis::Age));
            assert!(
                p.reason_ja.contains("被保険者資格申立書"),
                "{}",
                p.reason_ja
            );
            assert!(!p.reconfirmable, "no numbers to re-check");
        }
    }

    #[test]
    fn evidence_with_the_card_gives_step_one() {
        let mut s = situation(CardOutcome::Checked(VerdictKind::NoRecord));
        s.evidence.push(evidence(EvidenceKind::MynaPortal));
        let p = plan(&s);
        assert_eq!(p.step, ClaimStep::CurrentNumbers);
        assert_eq!(p.numbers, Some(numbers("01130012")));
        assert_eq!(
            p.numbers_source,
            Some(NumbersSource::Evidence(EvidenceKind::MynaPortal))
        );
        assert!(p.reason_ja.contains("マイナポータル"));
        assert!(p
            .reconfirm
            .as_ref()
            .is_some_and(|r| !r.advised && r.when == ReconfirmWhen::Now));
    }

    #[test]
    fn the_strongest_accepted_evidence_is_used_and_rejections_are_listed() {
        let mut s = situation(CardOutcome::SystemDown);
        s.evidence.push(Evidence {
            unchanged: true,
            numbers: numbers("06010391"),
            ..evidence(EvidenceKind::PastRecord)
        });
        s.evidence.push(Evidence {
            with_card: false,
            ..evidence(EvidenceKind::MynaPortal)
        });
        s.evidence.push(Evidence {
            with_card: false,
            valid_until: Some(date!(2027 - 03 - 31)),
            ratio: None,
            ..evidence(EvidenceKind::QualificationCertificate)
        });
        let p = plan(&s);
        assert_eq!(
            p.numbers_source,
            Some(NumbersSource::Evidence(
                EvidenceKind::QualificationCertificate
            ))
        );
        assert_eq!(p.rejected.len(), 1);
        assert_eq!(p.rejected[0].index, 1);
        assert!(p
            .reconfirm
            .is_some_and(|r| r.when == ReconfirmWhen::AfterRecovery));
    }

    #[test]
    fn invalid_with_old_numbers_gives_step_two() {
        let mut s = situation(CardOutcome::Checked(VerdictKind::Invalid));
        s.old_numbers = Some(numbers("06010391"));
        let p = plan(&s);
        assert_eq!(p.step, ClaimStep::OldNumbers);
        assert_eq!(p.numbers_source, Some(NumbersSource::OldQualification));
        assert!(p.reason_ja.contains("旧資格請求"));
        // Old numbers of an 無効 screen do not count for other outcomes.
        s.outcome = CardOutcome::CardUnreadable;
        assert_eq!(plan(&s).step, ClaimStep::SelfDeclaration);
    }

    /// Regression (issue 15): ② was taken only after an 無効 answer, and a past record without
    /// the patient's word was rejected; S1 allows past numbers 「過去の受診歴等から」 for ②.
    #[test]
    fn a_past_record_without_the_patients_word_gives_step_two_after_any_failure() {
        let record = Evidence {
            numbers: numbers("06010391"),
            ..evidence(EvidenceKind::PastRecord)
        };
        for outcome in [
            CardOutcome::Checked(VerdictKind::NoRecord),
            CardOutcome::Checked(VerdictKind::Invalid),
            CardOutcome::Checked(VerdictKind::NotRegistered),
            CardOutcome::CardUnreadable,
            CardOutcome::SystemDown,
            CardOutcome::NoCard,
        ] {
            let mut s = situation(outcome);
            s.evidence.push(record.clone());
            let p = plan(&s);
            assert_eq!(p.step, ClaimStep::OldNumbers, "{outcome:?}");
            assert_eq!(p.step_number, Some(2));
            assert_eq!(p.numbers_source, Some(NumbersSource::PastRecord));
            assert_eq!(p.numbers, Some(numbers("06010391")));
            assert!(
                p.reason_ja.contains("以前の受診時の資格情報"),
                "{}",
                p.reason_ja
            );
            assert!(p.reconfirm.as_ref().is_some_and(|r| r.advised));
        }
        // With the patient's word it stays ①.
        let mut s = situation(CardOutcome::Checked(VerdictKind::NoRecord));
        s.evidence.push(Evidence {
            unchanged: true,
            ..record.clone()
        });
        let p = plan(&s);
        assert_eq!(p.step, ClaimStep::CurrentNumbers);
        assert_eq!(
            p.numbers_source,
            Some(NumbersSource::Evidence(EvidenceKind::PastRecord))
        );
        // The 無効 screen's numbers come first; someone else's record never counts.
        let mut s = situation(CardOutcome::Checked(VerdictKind::Invalid));
        s.old_numbers = Some(numbers("01130012"));
        s.evidence.push(record.clone());
        assert_eq!(
            plan(&s).numbers_source,
            Some(NumbersSource::OldQualification)
        );
        let mut s = situation(CardOutcome::CardUnreadable);
        s.evidence.push(Evidence {
            birthdate: Some(date!(1975 - 01 - 01)),
            ..record
        });
        assert_eq!(plan(&s).step, ClaimStep::SelfDeclaration);
    }

    /// Regression (issue 15): no card and nothing to show produced a 不詳 receipt; ③ is for a
    /// card that was presented and could not be confirmed.
    #[test]
    fn no_card_and_no_document_asks_for_the_certificate() {
        let p = plan(&situation(CardOutcome::NoCard));
        assert_eq!(p.step, ClaimStep::BringCertificate);
        assert_eq!(p.step_number, None);
        assert_eq!(p.ratio, None);
        assert!(p.numbers.is_none());
        assert!(
            p.reason_ja.contains("資格確認書をお持ちいただく"),
            "{}",
            p.reason_ja
        );
        assert!(!p.reason_ja.contains("申立書を記入"), "{}", p.reason_ja);
        // With a usable document it is ① as before.
        let mut s = situation(CardOutcome::NoCard);
        s.evidence.push(Evidence {
            with_card: false,
            valid_until: Some(date!(2027 - 03 - 31)),
            ..evidence(EvidenceKind::QualificationCertificate)
        });
        assert_eq!(plan(&s).step, ClaimStep::CurrentNumbers);
    }

    #[test]
    fn cancelled_returned_dv_and_day_labourers_are_told_the_certificate_is_the_way() {
        let first_note = |s: &Situation| plan(s).notes.first().map(|n| n.ja.clone());
        let s = situation(CardOutcome::Checked(VerdictKind::RegistrationCancelled));
        assert!(first_note(&s).is_some_and(|n| n.contains("解除") && n.contains("資格確認書")));
        let s = situation(CardOutcome::Checked(VerdictKind::CardReturned));
        assert!(first_note(&s).is_some_and(|n| n.contains("返納") && n.contains("資格確認書")));
        let mut s = situation(CardOutcome::NoCard);
        s.circumstance = Some(Circumstance::DvRestricted);
        assert!(first_note(&s).is_some_and(|n| n.contains("DV") && n.contains("資格確認書")));
        assert_eq!(plan(&s).step, ClaimStep::BringCertificate);
        s.circumstance = Some(Circumstance::DayLaborer);
        assert!(first_note(&s).is_some_and(|n| n.contains("対象外") && n.contains("受給資格者票")));
        // None of it for others.
        assert!(plan(&situation(CardOutcome::CardUnreadable))
            .notes
            .is_empty());
    }

    #[test]
    fn elderly_patients_are_asked_for_their_certificate_on_both_sides_of_1_august_2026() {
        let last = LATE_ELDERLY_ALL_CERTIFICATES_LAST_DAY;
        let first = ELDERLY_CERTIFICATE_FIRST_DAY;
        let notes = |birth: Date, on: Date| {
            let mut s = situation(CardOutcome::CardUnreadable);
            s.birthdate = Some(birth);
            s.on = on;
            plan(&s)
                .notes
                .into_iter()
                .map(|n| n.ja)
                .collect::<Vec<_>>()
                .join("")
        };
        // 76 in 2026: every 後期高齢者 until 2026-07-31, then no longer.
        assert!(notes(date!(1950 - 01 - 01), last).contains("全員に資格確認書"));
        assert!(notes(date!(1950 - 01 - 01), first).is_empty());
        // 85 on 2026-08-01: still one from then on.
        assert!(notes(date!(1941 - 08 - 01), last).contains("全員に資格確認書"));
        assert!(notes(date!(1941 - 08 - 01), first).contains("85歳以上"));
        assert!(notes(date!(1941 - 08 - 01), date!(2027 - 01 - 10)).contains("85歳以上"));
        // 84 on that day: not.
        assert!(notes(date!(1941 - 08 - 02), first).is_empty());
        // Younger than 75: nothing.
        assert!(notes(date!(1980 - 04 - 01), last).is_empty());
        // A certificate already shown: no need to ask.
        let mut s = situation(CardOutcome::CardUnreadable);
        s.birthdate = Some(date!(1941 - 08 - 01));
        s.on = first;
        s.evidence.push(Evidence {
            valid_until: Some(date!(2027 - 07 - 31)),
            ..evidence(EvidenceKind::QualificationCertificate)
        });
        assert!(plan(&s).notes.is_empty());
    }

    #[test]
    fn ratio_follows_age_and_is_three_when_nothing_is_known() {
        let mut s = situation(CardOutcome::CardUnreadable);
        s.birthdate = Some(date!(2021 - 06 - 01)); // preschool
        assert_eq!(plan(&s).ratio, Some(Ratio::TWO));
        s.birthdate = Some(date!(1951 - 11 - 21)); // 75 on the check date
        assert_eq!(plan(&s).ratio, Some(Ratio::ONE));
        s.birthdate = None;
        let p = plan(&s);
        assert_eq!(
            (p.ratio, p.ratio_basis),
            (Some(Ratio::THREE), Some(RatioBasis::InDoubt))
        );
    }

    #[test]
    fn rejected_notice_after_the_temporary_rule_is_step_three_but_reconfirmable() {
        let mut s = situation(CardOutcome::NoCard);
        s.on = TEMPORARY_RULE_LAST_DAY + time::Duration::DAY;
        s.evidence.push(Evidence {
            with_card: false,
            ..evidence(EvidenceKind::QualificationNotice)
        });
        let p = plan(&s);
        assert_eq!(p.step, ClaimStep::BringCertificate);
        assert_eq!(p.rejected.len(), 1);
        assert!(p.reconfirmable && p.reconfirm.as_ref().is_some_and(|r| r.advised));
        s.outcome = CardOutcome::CardUnreadable;
        assert_eq!(plan(&s).step, ClaimStep::SelfDeclaration);
        // The day before, the temporary rule still accepts it.
        s.on = TEMPORARY_RULE_LAST_DAY;
        assert_eq!(plan(&s).step, ClaimStep::CurrentNumbers);
    }

    #[test]
    fn someone_elses_numbers_are_not_offered_for_the_re_check() {
        let mut s = situation(CardOutcome::CardUnreadable);
        s.evidence.push(Evidence {
            birthdate: Some(date!(1975 - 01 - 01)),
            ..evidence(EvidenceKind::MynaPortal)
        });
        let p = plan(&s);
        assert_eq!(p.step, ClaimStep::SelfDeclaration);
        assert!(p.rejected[0].reason_ja.contains("一致しません"));
        assert!(!p.reconfirmable);
    }

    fn answer(kind: VerdictKind) -> Verdict {
        let mut v = Verdict::bare(kind, NextStep::ClaimNormally);
        v.qualifications.push(Qualification {
            insurer_number: InsurerNumber::parse("01130012").ok(),
            symbol: Some("5012345".into()),
            number: Some("1024".into()),
            branch: Some("00".into()),
            birthdate: Some(date!(1980 - 04 - 01)),
            partial_contribution_ratio: Some(Ratio::THREE),
            ..Qualification::default()
        });
        v
    }

    use crate::domain::numbers::InsurerNumber;

    #[test]
    fn a_valid_reconfirmation_turns_step_three_into_a_confirmed_step_one() {
        let mut s = situation(CardOutcome::CardUnreadable);
        s.evidence.push(Evidence {
            with_card: false,
            ..evidence(EvidenceKind::QualificationNotice)
        });
        let p = apply_reconfirmation(plan(&s), &answer(VerdictKind::Valid), ON);
        assert_eq!(p.step, ClaimStep::CurrentNumbers);
        assert_eq!(p.numbers_source, Some(NumbersSource::OnlineByNumber));
        assert_eq!(p.ratio_basis, Some(RatioBasis::OnlineAnswer));
        assert!(p.reconfirmation.is_some_and(|r| r.applied));
        assert!(!p.reconfirmable);
    }

    #[test]
    fn other_reconfirmation_answers_leave_the_plan_and_say_why() {
        let mut s = situation(CardOutcome::CardUnreadable);
        s.evidence.push(Evidence {
            with_card: false,
            ..evidence(EvidenceKind::QualificationNotice)
        });
        let before = plan(&s);
        for kind in [
            VerdictKind::Invalid,
            VerdictKind::NoRecord,
            VerdictKind::InvalidNewExists,
            VerdictKind::Timeout,
        ] {
            let p = apply_reconfirmation(before.clone(), &answer(kind), ON);
            assert_eq!(p.step, before.step, "{kind:?}");
            assert_eq!(p.numbers, before.numbers);
            let r = p.reconfirmation.expect("reason");
            assert!(!r.applied && !r.reason_ja.is_empty(), "{kind:?}");
        }
        let bare = Verdict::bare(VerdictKind::Valid, NextStep::ClaimNormally);
        let p = apply_reconfirmation(before.clone(), &bare, ON);
        assert_eq!(p.step, ClaimStep::SelfDeclaration);
    }
    /// Regression: a re-check refused while the plan asks for the 資格確認書 said 「計画どおりに
    /// 請求します」 (there is no claim yet), and an answer about somebody else said its warning twice.
    #[test]
    fn a_refused_re_check_says_what_happens_instead_once() {
        let mut s = situation(CardOutcome::NoCard);
        s.evidence.push(Evidence {
            with_card: false,
            ..evidence(EvidenceKind::QualificationNotice)
        });
        let before = plan(&s);
        assert_eq!(before.step, ClaimStep::BringCertificate);
        for kind in [
            VerdictKind::AnswerMismatch,
            VerdictKind::Invalid,
            VerdictKind::NoRecord,
        ] {
            let p = apply_reconfirmation(before.clone(), &answer(kind), ON);
            let ja = p.reconfirmation.expect("reason").reason_ja;
            // After the verdict's own message (the test answer's next step is its own).
            assert!(
                ja.ends_with("資格確認書をお持ちいただくよう案内します。"),
                "{ja}"
            );
            assert_eq!(
                ja.matches("照会と異なる方の回答").count(),
                usize::from(kind == VerdictKind::AnswerMismatch),
                "{ja}"
            );
        }
    }
}
