//! The mock's login and token (docs/online-api.md, "Login and token"): a real mTLS client
//! against the real server on loopback. Login answers the token; the search and the challenge
//! refuse a request without it, with an unknown, expired or used-up token, or with another
//! facility certificate's token (401 PH4010); the public paths of the real web API work as
//! aliases; the faults refuse logins and expire tokens.

mod support;

use std::time::Duration;

use hyper::StatusCode;
use onshi_mock::endpoint::{
    self, RunningServer, CHALLENGE_PATH, CONFIRMATION_PATH, LOGIN_PATH, PUBLIC_LOGIN_PATH,
    PUBLIC_SEARCH_PATH,
};
use onshi_mock::pki::tls::Validity;
use serde_json::Value;

use support::*;

fn search() -> Value {
    envelope(
        header("login-test"),
        numbers_search("01130012", Some("5012345"), "1024", Some("00"), "19800401"),
    )
}

fn search_bytes() -> Vec<u8> {
    serde_json::to_vec(&search()).expect("json")
}

/// POSTs the search with this `Authorization` value (or none).
async fn search_with(
    conn: &mut Connection,
    path: &str,
    authorization: Option<&str>,
) -> (StatusCode, Value) {
    let (status, _, bytes) = conn
        .send(hyper::Method::POST, path, search_bytes(), authorization)
        .await
        .expect("post");
    let value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&bytes)));
    (status, value)
}

/// Asserts the 401 PH4010 envelope, its Japanese message and an English detail with `needle`.
fn assert_token_refused(status: StatusCode, answer: &Value, needle: &str) {
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{answer}");
    assert_eq!(answer["Error"]["Code"], "PH4010", "{answer}");
    let message = answer["Error"]["Message"].as_str().unwrap_or_default();
    assert!(message.contains("ログイン"), "{answer}");
    let detail = answer["Error"]["Detail"].as_str().unwrap_or_default();
    assert!(detail.contains(needle), "{needle}: {answer}");
}

fn spawn(config: endpoint::ServerConfig) -> RunningServer {
    endpoint::spawn(config).expect("server")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_then_search_with_the_token() {
    let server = spawn(server_config());
    let mut conn = Connection::facility(server.addr())
        .await
        .expect("connect")
        .without_login();
    let (status, answer) = conn
        .login_at(LOGIN_PATH, br#"{"ExtDeskId": "desk-1"}"#)
        .await
        .expect("login");
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["status"], "0");
    assert_eq!(answer["msg"], "");
    let result = &answer["result"];
    for field in ["accessToken", "refreshToken", "idToken", "linkSysCharCd"] {
        assert!(
            result[field].as_str().is_some_and(|t| !t.is_empty()),
            "{field}: {answer}"
        );
    }
    assert_eq!(result["extExpiresIn"], "1800");
    let token = conn.token.clone().expect("idToken kept");
    assert_ne!(result["accessToken"], result["idToken"]);

    // Raw, as public code sends it.
    let (status, answer) = search_with(&mut conn, CONFIRMATION_PATH, Some(&token)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        answer["XmlMsg"]["MessageBody"]["QualificationValidity"],
        "1"
    );
    // With the Bearer scheme HTTP clients add by habit.
    let (status, answer) = search_with(
        &mut conn,
        CONFIRMATION_PATH,
        Some(&format!("Bearer {token}")),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    // The challenge too.
    let (status, _, _) = conn
        .send(
            hyper::Method::POST,
            CHALLENGE_PATH,
            b"{}".to_vec(),
            Some(&token),
        )
        .await
        .expect("challenge");
    assert_eq!(status, StatusCode::OK);
    assert_eq!(server.stats().logins(), 1);
    assert_eq!(server.stats().issued_id_tokens(), vec![token]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_without_a_live_token_get_401_ph4010() {
    let server = spawn(server_config());
    let mut conn = Connection::facility(server.addr())
        .await
        .expect("connect")
        .without_login();

    let (status, headers, _) = conn
        .send(hyper::Method::POST, CONFIRMATION_PATH, search_bytes(), None)
        .await
        .expect("post");
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(headers.contains_key(hyper::header::WWW_AUTHENTICATE));
    let (status, answer) = search_with(&mut conn, PUBLIC_SEARCH_PATH, None).await;
    assert_token_refused(status, &answer, "no Authorization header");
    let (status, _, bytes) = conn
        .send(hyper::Method::POST, CHALLENGE_PATH, b"{}".to_vec(), None)
        .await
        .expect("challenge");
    let answer: Value = serde_json::from_slice(&bytes).expect("json");
    assert_token_refused(status, &answer, "no Authorization header");

    let forged = "it-00000000000000000000000000000000";
    let (status, answer) = search_with(&mut conn, CONFIRMATION_PATH, Some(forged)).await;
    assert_token_refused(status, &answer, "unknown");
    assert!(
        !answer.to_string().contains(forged),
        "token echoed: {answer}"
    );
    let (status, answer) = search_with(&mut conn, CONFIRMATION_PATH, Some("Bearer x")).await;
    assert_token_refused(status, &answer, "unknown");
    // The access token is not the one searches take.
    conn.login().await.expect("login");
    let (_, login) = conn.login().await.expect("login");
    let access = login["result"]["accessToken"]
        .as_str()
        .expect("accessToken");
    let (status, answer) = search_with(&mut conn, CONFIRMATION_PATH, Some(access)).await;
    assert_token_refused(status, &answer, "unknown");
    assert_eq!(server.stats().refused_tokens(), 6);

    // The same connection still works once logged in (keep-alive survives the 401s).
    let token = conn.token.clone().expect("token");
    let (status, _) = search_with(&mut conn, CONFIRMATION_PATH, Some(&token)).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_expires_after_its_ttl() {
    let server = spawn(server_config().with_token_ttl(Duration::from_millis(300)));
    let mut conn = Connection::facility(server.addr())
        .await
        .expect("connect")
        .without_login();
    let (_, answer) = conn.login().await.expect("login");
    assert_eq!(answer["result"]["extExpiresIn"], "1", "{answer}");
    let token = conn.token.clone().expect("token");
    tokio::time::sleep(Duration::from_millis(600)).await;
    let (status, answer) = search_with(&mut conn, CONFIRMATION_PATH, Some(&token)).await;
    assert_token_refused(status, &answer, "expired");
    // A new login gives a new token that works.
    conn.login().await.expect("login again");
    let fresh = conn.token.clone().expect("token");
    assert_ne!(fresh, token);
    let (status, _) = search_with(&mut conn, CONFIRMATION_PATH, Some(&fresh)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(server.stats().logins(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_uses_fault_expires_tokens_after_n_requests() {
    let server = spawn(server_config().with_token_uses(Some(2)));
    let mut conn = Connection::facility(server.addr())
        .await
        .expect("connect")
        .without_login();
    conn.login().await.expect("login");
    let token = conn.token.clone().expect("token");
    for _ in 0..2 {
        let (status, answer) = search_with(&mut conn, CONFIRMATION_PATH, Some(&token)).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }
    let (status, answer) = search_with(&mut conn, CONFIRMATION_PATH, Some(&token)).await;
    assert_token_refused(status, &answer, "expired");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_of_another_facility_certificate_is_refused() {
    let server = spawn(server_config());
    let other = test_pki()
        .tls
        .load_client_ca()
        .expect("client CA")
        .issue_client("1398765432", "別の診療所", Validity::around(AS_OF))
        .expect("other facility");
    let identity = (
        certs_from_pem(&other.certificate_pem),
        key_from_pem(&other.private_key_pem),
    );
    let mut theirs = Connection::open(server.addr(), client_config(Some(identity), false))
        .await
        .expect("connect")
        .without_login();
    theirs.login().await.expect("their login");
    let their_token = theirs.token.clone().expect("token");
    // It works for them…
    let (status, _) = search_with(&mut theirs, CONFIRMATION_PATH, Some(&their_token)).await;
    assert_eq!(status, StatusCode::OK);
    // …and not for us.
    let mut ours = Connection::facility(server.addr())
        .await
        .expect("connect")
        .without_login();
    let (status, answer) = search_with(&mut ours, CONFIRMATION_PATH, Some(&their_token)).await;
    assert_token_refused(status, &answer, "another facility certificate");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_public_paths_are_aliases() {
    let server = spawn(server_config());
    let mut conn = Connection::facility(server.addr())
        .await
        .expect("connect")
        .without_login();
    let (status, answer) = conn
        .login_at(PUBLIC_LOGIN_PATH, b"")
        .await
        .expect("login at the public path");
    assert_eq!(status, StatusCode::OK, "{answer}");
    let token = conn.token.clone().expect("token");
    let (status, answer) = search_with(&mut conn, PUBLIC_SEARCH_PATH, Some(&token)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        answer["XmlMsg"]["MessageHeader"]["ArbitraryFileIdentifier"],
        "login-test"
    );
    // A token from either login path opens either search path.
    let (status, _) = search_with(&mut conn, CONFIRMATION_PATH, Some(&token)).await;
    assert_eq!(status, StatusCode::OK);
    // Only POST.
    let (status, _, _) = conn
        .send(hyper::Method::GET, PUBLIC_LOGIN_PATH, Vec::new(), None)
        .await
        .expect("get");
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_bodies_and_the_refused_login_fault() {
    let server = spawn(server_config());
    let mut conn = Connection::facility(server.addr())
        .await
        .expect("connect")
        .without_login();
    for (body, needle) in [
        (&br#"{"Password": "x"}"#[..], "unknown field"),
        (br#"{"ExtDeskId": ""}"#, "ExtDeskId"),
        (br#"{"ExtDeskId": "a b"}"#, "ExtDeskId"),
        (b"[1]", "login body"),
        (b"{", "login body"),
    ] {
        let (status, _, bytes) = conn
            .send(hyper::Method::POST, LOGIN_PATH, body.to_vec(), None)
            .await
            .expect("login");
        let answer: Value = serde_json::from_slice(&bytes).expect("json");
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
        assert_eq!(answer["Error"]["Code"], "PH4000");
        let detail = answer["Error"]["Detail"].as_str().unwrap_or_default();
        assert!(detail.contains(needle), "{needle}: {answer}");
    }
    assert_eq!(server.stats().logins(), 0);

    let refusing = spawn(server_config().with_login_refused(true));
    let mut conn = Connection::facility(refusing.addr())
        .await
        .expect("connect")
        .without_login();
    let (status, answer) = conn.login().await.expect("login");
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    assert_eq!(answer["status"], "1");
    assert!(answer["result"].is_null(), "{answer}");
    assert!(
        answer["msg"].as_str().is_some_and(|m| m.contains("認証")),
        "{answer}"
    );
    assert!(conn.token.is_none());
    assert_eq!(refusing.stats().logins(), 0);
}
