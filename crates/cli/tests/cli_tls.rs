//! The real `msync` against mockgw behind HTTPS on loopback, signed by a CA made in the test: the
//! site is reached with `ca_file` naming that CA, and refused without it (no accept-any switch).

mod support;

use msync_mockgw::{Flavor, MockConfig, MockGateway};
use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair, SanType};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use support::*;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::TlsAcceptor;

/// A CA and a server certificate for 127.0.0.1 and localhost that it signed.
struct Pki {
    ca_pem: String,
    server_der: Vec<u8>,
    server_key_der: Vec<u8>,
}

fn pki() -> Pki {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "msync test CA");
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let mut leaf = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    leaf.subject_alt_names
        .push(SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
    let cert = leaf.signed_by(&key, &ca_cert, &ca_key).unwrap();
    Pki {
        ca_pem: ca_cert.pem(),
        server_der: cert.der().to_vec(),
        server_key_der: key.serialize_der(),
    }
}

/// Terminate TLS on a loopback port and pass the bytes on to `backend` (the plain mockgw).
/// The thread lives as long as the test process.
fn https_front(pki: &Pki, backend: SocketAddr) -> SocketAddr {
    let config = ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(pki.server_der.clone())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pki.server_key_der.clone())),
        )
        .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    // A refused handshake (the client does not trust us) just ends here.
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let Ok(mut plain) = tokio::net::TcpStream::connect(backend).await else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                });
            }
        });
    });
    addr
}

#[test]
fn the_cli_reaches_an_https_gateway_signed_by_the_ca_in_ca_file_and_refuses_it_without() {
    let mock = MockGateway::start(MockConfig::new(Flavor::NewApi).channels(3)).unwrap();
    let pki = pki();
    let front = https_front(&pki, mock.addr());
    let dir = tempfile::tempdir().unwrap();
    write_private(
        &dir.path().join("secret"),
        &format!("{}\n", secret_of(&mock)),
    );
    std::fs::write(dir.path().join("company-ca.pem"), &pki.ca_pem).unwrap();
    std::fs::write(dir.path().join("not-a-ca.pem"), "hello\n").unwrap();
    let config = dir.path().join("msync.toml");
    let state = dir.path().join("state");
    let site = |extra: &str| {
        format!(
            "[[sites]]\nname = \"tls\"\ntype = \"new-api\"\nbase_url = \"https://127.0.0.1:{}\"\n\
             user_id = 1\ntoken_file = \"secret\"\n{extra}\n[sync]\n{FAST}",
            front.port()
        )
    };
    let run = |args: &[&str]| {
        let mut all = vec![
            "--config".to_string(),
            config.display().to_string(),
            "--state-dir".to_string(),
            state.display().to_string(),
        ];
        all.extend(args.iter().map(|s| s.to_string()));
        run_msync(&all, &[])
    };

    // Trusted through ca_file: the channels are listed over HTTPS.
    std::fs::write(&config, site("ca_file = \"company-ca.pem\"")).unwrap();
    let out = run(&["--json", "channels"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("\"id\""), "{}", out.stdout);
    assert!(
        mock.requests()
            .iter()
            .any(|r| r.path.starts_with("/api/channel")),
        "the request went through the HTTPS front"
    );

    // Without it, the certificate is refused: unreachable (exit 3), nothing listed.
    mock.clear_requests();
    std::fs::write(&config, site("")).unwrap();
    let out = run(&["--json", "channels"]);
    assert_eq!(out.code, 3, "{}\n{}", out.stdout, out.stderr);
    let text = format!("{}{}", out.stdout, out.stderr).to_lowercase();
    assert!(text.contains("certificate"), "{text}");
    assert!(mock.requests().is_empty(), "nothing reached the gateway");

    // A ca_file that holds no certificate is a configuration error at its line.
    std::fs::write(&config, site("ca_file = \"not-a-ca.pem\"")).unwrap();
    let out = run(&["channels"]);
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("msync.toml:7: sites[0].ca_file"),
        "{}",
        out.stderr
    );
}
