//! In-process fakes of the outside services, for the flows' unit tests: a card reader, the
//! online qualification service and the journal, each recording what it was asked.

use std::sync::Mutex;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use time::Date;

use super::{CheckRecorder, FinishedCheck, QualificationService, ResultSink};
use crate::card::{CardAccess, CardError, CertificateRead, Pin, PinStatus, UserAuthCertificate};
use crate::domain::search::{Challenge, Search};
use crate::domain::verdict::{NextStep, Qualification, Verdict, VerdictKind};
use crate::domain::InsurerNumber;
use crate::journal::{CheckId, JournalError, NewCheck};

/// A real X.509 certificate (from the mock's test PKI) valid around `on`.
pub fn certificate(on: Date) -> UserAuthCertificate {
    let ca = onshi_mock::pki::tls::TlsCa::generate(
        "JPKI user authentication (test)",
        onshi_mock::pki::tls::Validity::around(on),
    )
    .expect("test certificate");
    let der = CertificateDer::from_pem_slice(ca.certificate_pem().as_bytes()).expect("PEM");
    UserAuthCertificate::from_der(der.as_ref()).expect("parses")
}

/// One card on one reader; the PIN `1234` is right, anything else is refused.
pub struct Cards {
    pub certificate: UserAuthCertificate,
    /// The digests the card was asked to sign.
    pub signed: Mutex<Vec<[u8; 32]>>,
}

impl Cards {
    pub fn new(certificate: UserAuthCertificate) -> Self {
        Cards {
            certificate,
            signed: Mutex::new(Vec::new()),
        }
    }
}

impl CardAccess for Cards {
    fn read_certificate(&self, reader: &str) -> Result<CertificateRead, CardError> {
        Ok(CertificateRead {
            reader: reader.to_owned(),
            certificate: self.certificate.clone(),
            apdu_count: 1,
            elapsed: Duration::ZERO,
        })
    }

    fn pin_status(&self, _reader: &str) -> Result<PinStatus, CardError> {
        Ok(PinStatus::Remaining(3))
    }

    fn verify_and_sign(
        &self,
        _reader: &str,
        pin: &Pin,
        sha256: &[u8; 32],
    ) -> Result<Vec<u8>, CardError> {
        let right = Pin::parse("1234").expect("PIN");
        if pin != &right {
            return Err(CardError::PinWrong { retries_left: 2 });
        }
        self.signed.lock().expect("lock").push(*sha256);
        Ok(vec![0x5A; 256])
    }
}

/// The service: a fixed challenge (or none) and one answer for every confirmation; keeps
/// every search with its date.
pub struct Service {
    pub challenge: Result<Challenge, Verdict>,
    pub answer: Verdict,
    pub asked: Mutex<Vec<(Search, Date)>>,
}

impl Service {
    pub fn answering(answer: Verdict) -> Self {
        Service {
            challenge: Ok(Challenge {
                id: "challenge-1".into(),
                bytes: vec![7; 32],
            }),
            answer,
            asked: Mutex::new(Vec::new()),
        }
    }

    pub fn asked(&self) -> Vec<(Search, Date)> {
        self.asked.lock().expect("lock").clone()
    }
}

impl QualificationService for Service {
    fn challenge(&self) -> Result<Challenge, Verdict> {
        self.challenge.clone()
    }

    fn confirm(&self, search: &Search, on: Date) -> Verdict {
        self.asked.lock().expect("lock").push((search.clone(), on));
        self.answer.clone()
    }
}

/// A journal in memory; `refuse` makes every write fail like a full disk.
#[derive(Default)]
pub struct Recorder {
    pub records: Mutex<Vec<NewCheck>>,
    /// Result files named for checks (`interop_file`).
    pub files: Mutex<Vec<(CheckId, String)>>,
    pub refuse: bool,
}

impl CheckRecorder for Recorder {
    fn record(&self, check: NewCheck) -> Result<CheckId, JournalError> {
        if self.refuse {
            return Err(JournalError::Full("test: disk full".into()));
        }
        let mut records = self.records.lock().expect("lock");
        records.push(check);
        Ok(CheckId(i64::try_from(records.len()).expect("few")))
    }

    fn set_interop_file(&self, id: CheckId, file: &str) -> Result<(), JournalError> {
        if self.refuse {
            return Err(JournalError::Full("test: disk full".into()));
        }
        self.files.lock().expect("lock").push((id, file.to_owned()));
        Ok(())
    }
}

/// What a [`RecordingSink`] was given for one check: its fields, and everything it was given
/// written out (so a test can look for what must never leave, the PIN or the certificate).
#[derive(Clone, Debug)]
pub struct Seen {
    pub id: i64,
    pub by_card: bool,
    pub on: Date,
    pub verdict: VerdictKind,
    pub text: String,
}

/// A result sink that keeps what it is given and names a file `face-<id>.xml`, or fails.
#[derive(Default)]
pub struct RecordingSink {
    pub seen: Mutex<Vec<Seen>>,
    pub fail: bool,
}

impl RecordingSink {
    pub fn failing() -> Self {
        RecordingSink {
            fail: true,
            ..RecordingSink::default()
        }
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("lock").clone()
    }
}

impl ResultSink for RecordingSink {
    fn announce(&self, check: &FinishedCheck<'_>) -> Result<Option<String>, String> {
        let text = format!(
            "{check:?}\n{}",
            serde_json::to_string(check.verdict).map_err(|e| e.to_string())?
        );
        self.seen.lock().expect("lock").push(Seen {
            id: check.id.0,
            by_card: check.by_card,
            on: check.on,
            verdict: check.verdict.kind,
            text,
        });
        if self.fail {
            return Err("test: share not reachable".into());
        }
        Ok(Some(format!("face-{}.xml", check.id.0)))
    }
}

/// A valid answer with one qualification (協会けんぽ numbers, 山田 花子).
pub fn valid() -> Verdict {
    let mut v = Verdict::bare(VerdictKind::Valid, NextStep::ClaimNormally);
    v.validity = Some(1);
    v.qualifications = vec![Qualification {
        insurer_number: InsurerNumber::parse("01130012").ok(),
        symbol: Some("5012345".into()),
        number: Some("1024".into()),
        branch: Some("00".into()),
        name: Some("山田 花子".into()),
        birthdate: Some(time::macros::date!(1980 - 04 - 01)),
        ..Qualification::default()
    }];
    v
}

/// The service did not answer.
pub fn unreachable() -> Verdict {
    Verdict::bare(VerdictKind::Unreachable, NextStep::RetryOrDocuments)
}
