//! ReqwestTransport against tiny raw HTTP servers on 127.0.0.1.

use msync_cli::transport::ReqwestTransport;
use msync_core::http::{Method, Request, Transport, TransportError};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Serve each connection with `answer(request_head) -> raw response bytes` (None = hang).
async fn serve(answer: fn(&str, u16) -> Option<Vec<u8>>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::task::spawn_local(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            tokio::task::spawn_local(async move {
                let mut buf = vec![0u8; 65536];
                let mut head = String::new();
                while !head.contains("\r\n\r\n") {
                    let n = sock.read(&mut buf).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    head.push_str(&String::from_utf8_lossy(&buf[..n]));
                }
                match answer(&head, port) {
                    Some(bytes) => {
                        let _ = sock.write_all(&bytes).await;
                        let _ = sock.shutdown().await;
                    }
                    None => tokio::time::sleep(Duration::from_secs(30)).await,
                }
            });
        }
    });
    port
}

fn http(status: &str, headers: &[&str], body: &str) -> Vec<u8> {
    let mut s = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for h in headers {
        s.push_str(h);
        s.push_str("\r\n");
    }
    s.push_str("\r\n");
    s.push_str(body);
    s.into_bytes()
}

fn run<F: std::future::Future>(f: F) -> F::Output {
    let local = tokio::task::LocalSet::new();
    rt().block_on(local.run_until(f))
}

#[test]
fn sends_method_headers_body_and_reads_every_header() {
    run(async {
        let port = serve(|head, _| {
            let echo = if head.starts_with("PUT /api/channel/ ")
                && head
                    .to_ascii_lowercase()
                    .contains("content-type: application/json")
                && head.to_ascii_lowercase().contains("x-test: 1")
            {
                "ok"
            } else {
                "bad request head"
            };
            Some(http(
                "200 OK",
                &["Set-Cookie: a=1; Path=/", "Set-Cookie: auth=jwt; Path=/"],
                echo,
            ))
        })
        .await;
        let t = ReqwestTransport::new().unwrap();
        let req = Request::new(Method::Put, format!("http://127.0.0.1:{port}/api/channel/"))
            .header("X-Test", "1")
            .json(&serde_json::json!({"id": 1}));
        let resp = t.send(req).await.unwrap();
        assert_eq!(resp.status, 200);
        assert_eq!(resp.body, "ok");
        let cookies: Vec<_> = resp
            .headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
            .collect();
        assert_eq!(cookies.len(), 2, "both Set-Cookie headers are kept");
    });
}

#[test]
fn a_redirect_is_never_followed_and_names_its_target() {
    run(async {
        let port = serve(|head, port| {
            if head.starts_with("GET /login") {
                // Never asked: a followed redirect would land here with the credentials.
                Some(http("500 Followed", &[], "followed"))
            } else {
                let loc = format!("Location: http://127.0.0.1:{port}/login?next=/api");
                Some(http("302 Found", &[loc.as_str()], ""))
            }
        })
        .await;
        let t = ReqwestTransport::new().unwrap();
        let err = t
            .send(
                Request::new(
                    Method::Post,
                    format!("http://127.0.0.1:{port}/api/channel/"),
                )
                .header("Authorization", "Bearer secret"),
            )
            .await
            .unwrap_err();
        assert_eq!(
            err,
            TransportError::Redirect {
                status: Some(302),
                location: Some(format!("http://127.0.0.1:{port}/login?next=/api")),
            }
        );
        assert!(err.to_string().contains(&format!(
            "HTTP 302 with a redirect to http://127.0.0.1:{port}/login;"
        )));
    });
}

#[test]
fn timeouts_refusals_and_oversized_bodies_are_transport_errors() {
    run(async {
        let hang = serve(|_, _| None).await;
        let t = ReqwestTransport::new().unwrap();
        let err = t
            .send(Request::new(Method::Get, format!("http://127.0.0.1:{hang}/")).timeout_ms(200))
            .await
            .unwrap_err();
        assert_eq!(err, TransportError::Timeout);

        // A port nobody listens on: bind, note the port, drop the listener.
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let err = t
            .send(Request::new(
                Method::Get,
                format!("http://127.0.0.1:{port}/"),
            ))
            .await
            .unwrap_err();
        assert!(matches!(err, TransportError::Connect(_)), "{err:?}");

        let big = serve(|_, _| Some(http("200 OK", &[], &"x".repeat(4096)))).await;
        let small = ReqwestTransport::with_limits(Duration::from_secs(5), 1024).unwrap();
        let err = small
            .send(Request::new(
                Method::Get,
                format!("http://127.0.0.1:{big}/"),
            ))
            .await
            .unwrap_err();
        assert!(
            matches!(err, TransportError::Io(ref m) if m.contains("limit")),
            "{err:?}"
        );
    });
}
