//! Oversized responses are cut off with a clear error, also when the server sends no
//! `Content-Length` (chunked or read-until-close): the cap is enforced while streaming, so memory
//! stays bounded by the limit, not by what the server sends. (`transport.rs` covers the
//! `Content-Length` case.)

use msync_cli::transport::{ReqwestTransport, DEFAULT_MAX_BODY};
use msync_core::http::{Method, Request, Transport, TransportError};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A server on 127.0.0.1 answering one request with `head` then `chunks` × 64 KiB of `x`,
/// optionally in chunked transfer encoding.
async fn streaming_server(chunked: bool, chunks: usize) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::task::spawn_local(async move {
        let Ok((mut sock, _)) = listener.accept().await else {
            return;
        };
        let mut buf = vec![0u8; 65536];
        let _ = sock.read(&mut buf).await;
        let head = if chunked {
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n"
        } else {
            "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: application/json\r\n\r\n"
        };
        if sock.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        let block = vec![b'x'; 64 * 1024];
        for _ in 0..chunks {
            let ok = if chunked {
                let mut frame = format!("{:x}\r\n", block.len()).into_bytes();
                frame.extend_from_slice(&block);
                frame.extend_from_slice(b"\r\n");
                sock.write_all(&frame).await.is_ok()
            } else {
                sock.write_all(&block).await.is_ok()
            };
            if !ok {
                return; // the client gave up: that is the point
            }
        }
        if chunked {
            let _ = sock.write_all(b"0\r\n\r\n").await;
        }
        let _ = sock.shutdown().await;
    });
    port
}

fn run<F: std::future::Future>(f: F) -> F::Output {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    tokio::task::LocalSet::new().block_on(&rt, f)
}

#[test]
fn the_default_limit_is_64_mib() {
    assert_eq!(DEFAULT_MAX_BODY, 64 * 1024 * 1024);
}

#[test]
fn bodies_without_a_length_are_cut_off_at_the_limit() {
    run(async {
        for chunked in [true, false] {
            // 16 MiB offered, 1 MiB allowed.
            let port = streaming_server(chunked, 256).await;
            let t = ReqwestTransport::with_limits(Duration::from_secs(10), 1024 * 1024).unwrap();
            let err = t
                .send(Request::new(
                    Method::Get,
                    format!("http://127.0.0.1:{port}/"),
                ))
                .await
                .unwrap_err();
            match err {
                TransportError::Io(m) => assert!(
                    m.contains("exceeds the 1048576 byte limit"),
                    "chunked={chunked}: {m}"
                ),
                other => panic!("chunked={chunked}: {other:?}"),
            }
        }
    });
}

#[test]
fn bodies_under_the_limit_arrive_whole() {
    run(async {
        for chunked in [true, false] {
            let port = streaming_server(chunked, 8).await;
            let t = ReqwestTransport::with_limits(Duration::from_secs(10), 1024 * 1024).unwrap();
            let resp = t
                .send(Request::new(
                    Method::Get,
                    format!("http://127.0.0.1:{port}/"),
                ))
                .await
                .unwrap();
            assert_eq!(resp.body.len(), 8 * 64 * 1024, "chunked={chunked}");
        }
    });
}
