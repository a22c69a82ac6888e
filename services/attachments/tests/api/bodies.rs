//! Upload bodies that must be refused early, without being held in memory: no boundary, an
//! over-long preamble, part headers that never end, a whole body over the limit (announced
//! by Content-Length or streamed chunked). The 300 MiB memory measurement itself is
//! `scripts/attachments-body-memory`; here the answers must come quickly and be problems.

use std::time::{Duration, Instant};

use docket_attachments::{api::upload_body::max_body_bytes, domain::framing::MAX_PREAMBLE};
use docket_testkit::{Backend, assert_problem, backend_tests};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::helpers::{
    BOUNDARY, StorageKind, TestApp, User, content_type, file, multipart, png, raw_upload, spawn,
    spawn_with,
};

backend_tests!(
    a_body_that_never_contains_its_boundary_is_400_long_before_it_is_all_sent,
    an_overlong_preamble_is_400_and_a_short_one_is_accepted,
    part_headers_that_never_end_are_400_before_the_body_is_all_sent,
    a_content_length_over_the_whole_request_limit_is_413_before_the_body_is_read,
    a_chunked_body_over_the_whole_request_limit_is_413,
);

/// How the body's length is told.
enum Framing {
    /// `Content-Length: n` (n may be more than is sent).
    Length(u64),
    /// `Transfer-Encoding: chunked`; `true` sends the last chunk too.
    Chunked(bool),
}

/// Sends an upload request over a raw socket with `body` (maybe less than announced), and
/// reads the answer, which must come within 10 s. Returns the answer and how long it took.
async fn answer_to(
    app: &TestApp,
    user: &User,
    ticket: &str,
    framing: Framing,
    body: &[u8],
) -> (String, Duration) {
    let length = match framing {
        Framing::Length(n) => format!("Content-Length: {n}"),
        Framing::Chunked(_) => "Transfer-Encoding: chunked".to_owned(),
    };
    let (mut stream, mut sent) = raw_upload(app, ticket, &user.token, &length).await;
    match framing {
        Framing::Length(_) => sent.extend_from_slice(body),
        Framing::Chunked(last) => {
            for piece in body.chunks(16 * 1024) {
                sent.extend(format!("{:x}\r\n", piece.len()).into_bytes());
                sent.extend_from_slice(piece);
                sent.extend(b"\r\n");
            }
            if last {
                sent.extend(b"0\r\n\r\n");
            }
        }
    }
    let started = Instant::now();
    // The server may answer and close before it has read everything: that is the point.
    let _ = stream.write_all(&sent).await;
    let mut answer = Vec::new();
    let mut buf = vec![0u8; 8192];
    let read = async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            }
            // A whole problem body has arrived.
            if answer.windows(4).any(|w| w == b"\r\n\r\n") && answer.ends_with(b"}") {
                break;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .expect("the server answered within 10 s");
    (
        String::from_utf8_lossy(&answer).into_owned(),
        started.elapsed(),
    )
}

fn assert_answer(answer: &str, status: u16) {
    assert!(
        answer.starts_with(&format!("HTTP/1.1 {status}")),
        "wanted {status}: {answer}"
    );
    assert!(answer.contains("application/problem+json"), "{answer}");
    assert!(answer.contains("\"request_id\""), "{answer}");
}

async fn a_body_that_never_contains_its_boundary_is_400_long_before_it_is_all_sent(b: Backend) {
    let app = spawn(b, StorageKind::Local).await;
    let user = app.requester().await;
    let ticket = app.ticket(&user).await;
    let junk = vec![b'x'; 256 * 1024];
    // 40 MiB announced (under the whole-body limit), a quarter of a MiB sent.
    let (answer, took) = answer_to(
        &app,
        &user,
        &ticket,
        Framing::Length(40 * 1024 * 1024),
        &junk,
    )
    .await;
    assert_answer(&answer, 400);
    assert!(answer.contains("no multipart boundary"), "{answer}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    let (answer, _) = answer_to(&app, &user, &ticket, Framing::Chunked(false), &junk).await;
    assert_answer(&answer, 400);
    assert!(app.spool_drains().await);
    app.assert_nothing_kept().await;
}

async fn an_overlong_preamble_is_400_and_a_short_one_is_accepted(b: Backend) {
    let app = spawn(b, StorageKind::Local).await;
    let user = app.requester().await;
    let ticket = app.ticket(&user).await;
    let send = |preamble: usize| {
        let mut body = vec![b'p'; preamble];
        body.extend(b"\r\n");
        body.extend(multipart(&[file("a.png", Some("image/png"), &png())]));
        app.http
            .post(app.url(&format!("/api/tickets/{ticket}/attachments")))
            .bearer_auth(&user.token)
            .header("content-type", content_type())
            .body(body)
            .send()
    };
    let resp = send(MAX_PREAMBLE as usize + 1024).await.unwrap();
    assert_problem(resp, 400).await;
    assert_eq!(app.rows().await, 0);
    let resp = send(100).await.unwrap();
    assert_eq!(resp.status(), 201);
    assert_eq!(app.rows().await, 1);
}

async fn part_headers_that_never_end_are_400_before_the_body_is_all_sent(b: Backend) {
    let app = spawn(b, StorageKind::Local).await;
    let user = app.requester().await;
    let ticket = app.ticket(&user).await;
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n"
    )
    .into_bytes();
    body.extend(vec![b'h'; 256 * 1024]);
    let (answer, took) = answer_to(
        &app,
        &user,
        &ticket,
        Framing::Length(20 * 1024 * 1024),
        &body,
    )
    .await;
    assert_answer(&answer, 400);
    assert!(answer.contains("headers are longer"), "{answer}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    app.assert_nothing_kept().await;
}

async fn a_content_length_over_the_whole_request_limit_is_413_before_the_body_is_read(b: Backend) {
    let app = spawn_with(b, StorageKind::Local, &[("MAX_UPLOAD_BYTES", "100000")]).await;
    let user = app.requester().await;
    let ticket = app.ticket(&user).await;
    let limit = max_body_bytes(100_000);
    // Five files of the limit fit; one byte more than the body may hold does not, and no
    // byte of it is needed to say so.
    let (answer, took) = answer_to(&app, &user, &ticket, Framing::Length(limit + 1), b"").await;
    assert_answer(&answer, 413);
    assert!(took < Duration::from_secs(5), "{took:?}");
    // A ticket the caller may not see is still a 404 first.
    let stranger = app.requester().await;
    let (answer, _) = answer_to(&app, &stranger, &ticket, Framing::Length(limit + 1), b"").await;
    assert_answer(&answer, 404);
    app.assert_nothing_kept().await;
}

async fn a_chunked_body_over_the_whole_request_limit_is_413(b: Backend) {
    // Tiny files, so that five parts with the most framing each may have (padding and
    // headers, each just under its cap) weigh more than the whole body may.
    let app = spawn_with(b, StorageKind::Local, &[("MAX_UPLOAD_BYTES", "10")]).await;
    let user = app.requester().await;
    let ticket = app.ticket(&user).await;
    let limit = max_body_bytes(10);
    let name = format!("{}.png", "n".repeat(7900));
    let mut body = Vec::new();
    for _ in 0..5 {
        body.extend(format!("--{BOUNDARY}").into_bytes());
        body.extend(vec![b' '; 8000]);
        body.extend(
            format!(
                "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\r\n"
            )
            .into_bytes(),
        );
        body.extend(&png()[..10]);
        body.extend(b"\r\n");
    }
    body.extend(format!("--{BOUNDARY}--\r\n").into_bytes());
    assert!(body.len() as u64 > limit);
    let (answer, _) = answer_to(&app, &user, &ticket, Framing::Chunked(true), &body).await;
    assert_answer(&answer, 413);
    assert!(answer.contains("request body is larger"), "{answer}");
    assert!(app.spool_drains().await);
    app.assert_nothing_kept().await;
}
