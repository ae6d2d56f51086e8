//! The HTTP layer: routes, body limit, the login and the two endpoints it opens, faults.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use base64::Engine;
use http_body_util::BodyExt;
use tokio::sync::Notify;

use super::card_certificate::{
    expiry_state, verify_challenge_signature, CardCertError, ExpiryState, JpkiTrust,
};
use super::challenge::ChallengeStore;
use super::codes::{self, Code};
use super::config::ServerConfig;
use super::message::{self, Outcome, Reference};
use super::request::{self, CardSearch, ConfirmationRequest, Method, Search};
use super::token::{ClientIdentity, TokenStore};
use super::{
    CHALLENGE_PATH, CONFIRMATION_PATH, LOGIN_PATH, MAX_BODY_BYTES, PUBLIC_LOGIN_PATH,
    PUBLIC_SEARCH_PATH,
};
use crate::fixtures::{CardStatus, Faults, Fixtures, Insured};

/// Beyond the limit, up to this much more body is read and thrown away before answering 413,
/// so the client finishes sending and reads the answer instead of meeting a reset.
const DRAIN_LIMIT: usize = 4 * 1024 * 1024;

const JST: time::UtcOffset = time::macros::offset!(+9);

/// Shared by every request of every connection.
pub(crate) struct AppState {
    fixtures: Arc<Fixtures>,
    jpki: Arc<JpkiTrust>,
    challenges: ChallengeStore,
    tokens: Arc<TokenStore>,
    login_refused: bool,
    faults: Faults,
}

impl AppState {
    pub(crate) fn new(config: &ServerConfig) -> AppState {
        AppState {
            fixtures: config.fixtures.clone(),
            jpki: config.jpki.clone(),
            challenges: ChallengeStore::new(config.challenge_ttl),
            tokens: config.tokens.clone(),
            login_refused: config.login_refused,
            faults: config.faults,
        }
    }
}

/// Per-connection handle put into each request's extensions, so that the drop fault can close
/// the connection it arrived on without answering.
#[derive(Clone, Default)]
pub(crate) struct ConnectionControl {
    close: Arc<Notify>,
}

impl ConnectionControl {
    /// Resolves once a handler asked for the connection to be dropped.
    pub(crate) async fn closed(&self) {
        self.close.notified().await;
    }

    fn close(&self) {
        self.close.notify_one();
    }
}

pub(crate) fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route(LOGIN_PATH, post(login).fallback(method_not_allowed))
        .route(PUBLIC_LOGIN_PATH, post(login).fallback(method_not_allowed))
        .route(CHALLENGE_PATH, post(challenge).fallback(method_not_allowed))
        .route(
            CONFIRMATION_PATH,
            post(confirmation).fallback(method_not_allowed),
        )
        .route(
            PUBLIC_SEARCH_PATH,
            post(confirmation).fallback(method_not_allowed),
        )
        .fallback(not_found)
        .with_state(state)
}

/// An answer before faults are applied.
struct Answer {
    status: StatusCode,
    body: Vec<u8>,
    /// Faults of the fixture entry the request found, if any.
    entry_faults: Faults,
}

impl Answer {
    fn json(status: StatusCode, body: Vec<u8>) -> Answer {
        Answer {
            status,
            body,
            entry_faults: Faults::NONE,
        }
    }

    fn error(status: StatusCode, code: Code, detail: &str) -> Answer {
        match message::error(code, detail) {
            Ok(body) => Answer::json(status, body),
            Err(e) => Answer::internal(&e),
        }
    }

    fn internal(e: &serde_json::Error) -> Answer {
        tracing::error!("serialising a response failed: {e}");
        Answer::json(
            StatusCode::INTERNAL_SERVER_ERROR,
            br#"{"Error":{"Code":"PH5000","Message":"","Detail":"response serialisation failed"}}"#
                .to_vec(),
        )
    }
}

async fn login(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let identity = request.extensions().get::<ClientIdentity>().copied();
    let answer = match read_body(request.into_body()).await {
        Err(answer) => answer,
        Ok(body) => log_in(&state, identity, &body),
    };
    // The global faults stand for a broken search service and leave the login alone (its
    // own fault is `login_refused`): a test of a fault then sees that fault, not a failed
    // login.
    respond(answer)
}

async fn challenge(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let control = request.extensions().get::<ConnectionControl>().cloned();
    let token = Authorized::of(&request);
    let answer = match read_body(request.into_body()).await {
        Err(answer) => answer,
        Ok(body) => match token.check(&state) {
            Err(answer) => answer,
            Ok(()) => issue_challenge(&state, &body),
        },
    };
    with_challenge_header(finish(&state, control, answer).await)
}

async fn confirmation(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let control = request.extensions().get::<ConnectionControl>().cloned();
    let token = Authorized::of(&request);
    let answer = match read_body(request.into_body()).await {
        Err(answer) => answer,
        Ok(body) => match token.check(&state) {
            Err(answer) => answer,
            Ok(()) => confirm(&state, &body),
        },
    };
    with_challenge_header(finish(&state, control, answer).await)
}

/// A 401 says how to authenticate (RFC 9110 §11.6.1): with the login's token. The scheme name
/// is the project's own; public code sends the token raw, without a scheme.
fn with_challenge_header(mut response: Response) -> Response {
    if response.status() == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("OnshiToken realm=\"online-qualification\""),
        );
    }
    response
}

/// What a request brings to be let in: its `Authorization` value and the connection's
/// facility certificate. Checked after the body is read, so a refused request still leaves
/// its keep-alive connection usable for the login and the retry.
struct Authorized {
    authorization: Option<Result<String, ()>>,
    identity: Option<ClientIdentity>,
}

impl Authorized {
    fn of(request: &Request) -> Authorized {
        Authorized {
            authorization: request
                .headers()
                .get(header::AUTHORIZATION)
                .map(|v| v.to_str().map(str::to_owned).map_err(|_| ())),
            identity: request.extensions().get::<ClientIdentity>().copied(),
        }
    }

    /// 401 PH4010 unless the token is live and was issued to this connection's certificate.
    fn check(&self, state: &AppState) -> Result<(), Answer> {
        let authorization = match &self.authorization {
            None => None,
            Some(Ok(value)) => Some(value.as_str()),
            // Not visible ASCII: no token we issued.
            Some(Err(())) => Some(""),
        };
        state
            .tokens
            .check(authorization, self.identity)
            .map_err(|refusal| {
                Answer::error(StatusCode::UNAUTHORIZED, codes::PH4010, refusal.detail())
            })
    }
}

/// The optional body of a login (project extension): `{}` or `{"ExtDeskId": "…"}`, which
/// names the desk in the mock's log. The facility certificate of the connection is the
/// credential; the body carries none.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    #[serde(rename = "ExtDeskId")]
    desk_id: Option<String>,
}

/// Largest `ExtDeskId` accepted.
const MAX_DESK_ID_CHARS: usize = 64;

fn log_in(state: &AppState, identity: Option<ClientIdentity>, body: &[u8]) -> Answer {
    let bad = |detail: String| Answer::error(StatusCode::BAD_REQUEST, codes::PH4000, &detail);
    let parsed = if body.iter().all(u8::is_ascii_whitespace) {
        LoginBody { desk_id: None }
    } else {
        match serde_json::from_slice::<LoginBody>(body) {
            Ok(parsed) => parsed,
            Err(e) => {
                return bad(format!(
                    "login body: {e} (expected {{}} or {{\"ExtDeskId\": \"…\"}})"
                ))
            }
        }
    };
    if let Some(desk) = &parsed.desk_id {
        if desk.is_empty()
            || desk.chars().count() > MAX_DESK_ID_CHARS
            || !desk.chars().all(|c| c.is_ascii_graphic())
        {
            return bad(format!(
                "ExtDeskId: 1 to {MAX_DESK_ID_CHARS} visible ASCII characters"
            ));
        }
    }
    if state.login_refused {
        return match message::login_refused(LOGIN_REFUSED_MESSAGE) {
            Ok(body) => Answer::json(StatusCode::FORBIDDEN, body),
            Err(e) => Answer::internal(&e),
        };
    }
    // The handshake required a client certificate, so a connection always has one; without
    // it there is nothing to bind a token to.
    let Some(identity) = identity else {
        return Answer::error(
            StatusCode::UNAUTHORIZED,
            codes::PH4010,
            "no facility certificate on this connection",
        );
    };
    let issued = state.tokens.issue(identity);
    tracing::debug!(
        "login by desk {:?}",
        parsed.desk_id.as_deref().unwrap_or("(unnamed)")
    );
    match message::login(&issued) {
        Ok(body) => Answer::json(StatusCode::OK, body),
        Err(e) => Answer::internal(&e),
    }
}

/// `msg` of a refused login (the login-refused fault).
const LOGIN_REFUSED_MESSAGE: &str =
    "医療機関等の認証に失敗しました。電子証明書の有効期限と登録状況を確認してください。";

async fn method_not_allowed(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let control = request.extensions().get::<ConnectionControl>().cloned();
    let detail = format!("{} {}: only POST", request.method(), request.uri().path());
    let mut response = finish(
        &state,
        control,
        Answer::error(StatusCode::METHOD_NOT_ALLOWED, codes::PH4050, &detail),
    )
    .await;
    if response.status() == StatusCode::METHOD_NOT_ALLOWED {
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
    }
    response
}

async fn not_found(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let control = request.extensions().get::<ConnectionControl>().cloned();
    let detail = format!("no endpoint at {}", request.uri().path());
    finish(
        &state,
        control,
        Answer::error(StatusCode::NOT_FOUND, codes::PH4040, &detail),
    )
    .await
}

/// Reads the whole body, refusing more than [`MAX_BODY_BYTES`] with 413 PH4130.
async fn read_body(body: Body) -> Result<Vec<u8>, Answer> {
    let too_large = |n: usize| {
        Answer::error(
            StatusCode::PAYLOAD_TOO_LARGE,
            codes::PH4130,
            &format!("body of at least {n} bytes; the limit is {MAX_BODY_BYTES}"),
        )
    };
    let mut body = body;
    let mut buffer = Vec::new();
    let mut total = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            Answer::error(
                StatusCode::BAD_REQUEST,
                codes::PH4000,
                &format!("reading the body failed: {e}"),
            )
        })?;
        if let Ok(data) = frame.into_data() {
            total = total.saturating_add(data.len());
            if total > DRAIN_LIMIT {
                return Err(too_large(total));
            }
            if total <= MAX_BODY_BYTES {
                buffer.extend_from_slice(&data);
            }
        }
    }
    if total > MAX_BODY_BYTES {
        return Err(too_large(total));
    }
    Ok(buffer)
}

fn issue_challenge(state: &AppState, body: &[u8]) -> Answer {
    // The contract's body is `{}`; an empty body is taken as the same (handy with curl).
    if !body.iter().all(u8::is_ascii_whitespace) {
        match serde_json::from_slice::<serde_json::Value>(body) {
            Ok(serde_json::Value::Object(map)) => {
                if let Some(name) = map.keys().next() {
                    return Answer::error(
                        StatusCode::BAD_REQUEST,
                        codes::PH4000,
                        &format!("{name}: unknown element (the challenge request is {{}})"),
                    );
                }
            }
            Ok(_) => {
                return Answer::error(
                    StatusCode::BAD_REQUEST,
                    codes::PH4000,
                    "(document): must be the JSON object {}",
                )
            }
            Err(e) => {
                return Answer::error(
                    StatusCode::BAD_REQUEST,
                    codes::PH4000,
                    &format!("body is not valid JSON: {e}"),
                )
            }
        }
    }
    let issued = state.challenges.issue();
    let challenge = base64::engine::general_purpose::STANDARD.encode(issued.challenge);
    let valid_until = jst_timestamp(issued.valid_until);
    match message::challenge(&issued.id, &challenge, &valid_until) {
        Ok(body) => Answer::json(StatusCode::OK, body),
        Err(e) => Answer::internal(&e),
    }
}

fn confirm(state: &AppState, body: &[u8]) -> Answer {
    let request = match request::parse(body) {
        Ok(request) => request,
        Err(bad) => return Answer::error(StatusCode::BAD_REQUEST, codes::PH4000, &bad.0),
    };
    let (reference, outcome, entry) = match &request.search {
        Search::Numbers(numbers) => {
            let entry = state.fixtures.by_numbers(&numbers.query());
            let outcome = match entry {
                None => Outcome::NotFound,
                Some(e) if e.system_error => Outcome::SystemError,
                Some(e) => Outcome::Qualification {
                    entry: e,
                    note: None,
                },
            };
            (Reference::Numbers, outcome, entry)
        }
        Search::Card(card) => match card_outcome(state, &request, card) {
            Ok((outcome, entry)) => (Reference::Card, outcome, entry),
            Err(answer) => return answer,
        },
    };
    let now = jst_timestamp(time::OffsetDateTime::now_utc());
    match message::confirmation(
        &request.header,
        &now,
        reference,
        outcome,
        request.limit_consent,
    ) {
        Ok(body) => Answer {
            status: StatusCode::OK,
            body,
            entry_faults: entry.map(|e| e.fault).unwrap_or(Faults::NONE),
        },
        Err(e) => Answer::internal(&e),
    }
}

/// The card path: certificate, challenge and signature checks (4xx on failure), then the
/// answer about the card.
///
/// Order of the card outcomes: an abnormal end first (nothing is known), then the
/// certificate's own state (revoked, expired beyond grace), then the registration
/// (利用登録なし / 解除 / 返納), and finally the qualification with an expiry note.
fn card_outcome<'a>(
    state: &'a AppState,
    request: &ConfirmationRequest,
    card: &CardSearch,
) -> Result<(Outcome<'a>, Option<&'a Insured>), Answer> {
    let certificate = state.jpki.verify(&card.certificate).map_err(|e| match e {
        CardCertError::Malformed(detail) => Answer::error(
            StatusCode::BAD_REQUEST,
            codes::PH4000,
            &format!(
                "XmlMsg/MessageBody/QualificationConfirmSearchInfo/ExtUserAuthCertificate: {detail}"
            ),
        ),
        CardCertError::Untrusted(detail) => {
            Answer::error(StatusCode::FORBIDDEN, codes::PH4030, &detail)
        }
    })?;
    if card.method == Method::Pin {
        let forbidden = |code, detail: &str| Answer::error(StatusCode::FORBIDDEN, code, detail);
        let Some(id) = &card.challenge_id else {
            return Err(forbidden(
                codes::PH4032,
                "ExtChallengeId is missing (required for the PIN method)",
            ));
        };
        let Some(challenge) = state.challenges.take(id) else {
            return Err(forbidden(
                codes::PH4032,
                &format!("challenge {id:?} is unknown, expired or already used"),
            ));
        };
        let Some(signature_b64) = &card.signature_base64 else {
            return Err(forbidden(
                codes::PH4031,
                "ExtChallengeSignature is missing (required for the PIN method)",
            ));
        };
        let Ok(signature) = base64::engine::general_purpose::STANDARD.decode(signature_b64) else {
            return Err(forbidden(
                codes::PH4031,
                "ExtChallengeSignature is not base64",
            ));
        };
        if !verify_challenge_signature(&certificate.public_key, &challenge, &signature) {
            return Err(forbidden(
                codes::PH4031,
                "ExtChallengeSignature does not verify: expected RSA PKCS#1 v1.5 over SHA-256(challenge) with the certificate's key",
            ));
        }
    }
    let entry = state.fixtures.by_serial(&certificate.serial);
    let expiry = expiry_state(certificate.expiry, request.header.date);
    let outcome = match entry {
        Some(e) if e.system_error => Outcome::SystemError,
        Some(e) if e.card_status == CardStatus::Revoked => Outcome::Refused(codes::PH1004),
        _ if expiry == ExpiryState::Expired => Outcome::Refused(codes::PH1005),
        None => Outcome::Refused(codes::PH1001),
        Some(e) => match e.card_status {
            CardStatus::RegistrationCancelled => Outcome::Refused(codes::PH1002),
            CardStatus::CardReturned => Outcome::Refused(codes::PH1003),
            CardStatus::Revoked => Outcome::Refused(codes::PH1004),
            CardStatus::Registered => Outcome::Qualification {
                entry: e,
                note: match expiry {
                    ExpiryState::InGrace => Some(codes::PH0101),
                    ExpiryState::ExpiringSoon => Some(codes::PH0102),
                    ExpiryState::Valid | ExpiryState::Expired => None,
                },
            },
        },
    };
    Ok((outcome, entry))
}

/// The answer as it is, without any fault.
fn respond(answer: Answer) -> Response {
    (
        answer.status,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        answer.body,
    )
        .into_response()
}

/// Applies the global and entry faults, then builds the HTTP response.
async fn finish(state: &AppState, control: Option<ConnectionControl>, answer: Answer) -> Response {
    let faults = state.faults.combined_with(&answer.entry_faults);
    if faults.delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(faults.delay_ms)).await;
    }
    if faults.drop {
        if let Some(control) = control {
            control.close();
            // The connection task drops this future together with the connection.
            std::future::pending::<()>().await;
        }
    }
    if let Some(code) = faults.status {
        let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (
            status,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!(
                "{} {} (onshi-mock fault)\n",
                status.as_u16(),
                status.canonical_reason().unwrap_or("")
            ),
        )
            .into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        return response;
    }
    let mut body = answer.body;
    if faults.wrong_file_id {
        body = with_wrong_file_id(body);
    }
    if faults.malformed {
        body.truncate(body.len() / 2);
    }
    if faults.truncated {
        return truncated_response(answer.status, body);
    }
    (
        answer.status,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        body,
    )
        .into_response()
}

/// The answer with another `ArbitraryFileIdentifier` in its header (the lying-server fault);
/// a body without that header (an error envelope) is left as it is.
fn with_wrong_file_id(body: Vec<u8>) -> Vec<u8> {
    let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return body;
    };
    let Some(header) = value
        .pointer_mut("/XmlMsg/MessageHeader")
        .and_then(serde_json::Value::as_object_mut)
    else {
        return body;
    };
    header.insert(
        "ArbitraryFileIdentifier".to_owned(),
        serde_json::Value::from("onshi-mock-not-your-request"),
    );
    serde_json::to_vec(&value).unwrap_or(body)
}

/// Announces the whole body's length, sends the first half, then fails the body stream, which
/// makes hyper abort the connection mid-body: the client sees an answer cut off in transit.
fn truncated_response(status: StatusCode, mut body: Vec<u8>) -> Response {
    let full = body.len();
    body.truncate(full / 2);
    let chunks: [Result<Vec<u8>, std::io::Error>; 2] = [
        Ok(body),
        Err(std::io::Error::other("onshi-mock fault: body truncated")),
    ];
    let mut response = Response::new(Body::from_stream(futures_util::stream::iter(chunks)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(full));
    response
}

/// `YYYYMMDDHHmmss` in JST.
fn jst_timestamp(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(JST);
    format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}
