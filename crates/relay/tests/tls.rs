//! `scheme: https` and `tls_config` against real HTTPS targets on loopback: certificates are
//! made in the test (a CA, a server certificate, a client certificate; and a second CA that
//! signed nothing the servers use), the servers are rustls over real TCP, and the relay must
//! scrape what it should trust and refuse, with a clear reason in `/api/v1/targets`, what it
//! should not.
#![allow(clippy::unwrap_used)]

mod common;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use common::*;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use tokio_rustls::rustls;

/// A CA that signs certificates.
struct Ca {
    cert: rcgen::Certificate,
    key: KeyPair,
}

impl Ca {
    fn new(name: &str) -> Ca {
        let key = KeyPair::generate().unwrap();
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.distinguished_name.push(DnType::CommonName, name);
        Ca {
            cert: p.self_signed(&key).unwrap(),
            key,
        }
    }

    /// A leaf certificate for `names` (DNS names or IP addresses): (cert PEM, key PEM).
    fn issue(&self, names: &[&str]) -> (String, String) {
        let key = KeyPair::generate().unwrap();
        let p = CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .unwrap();
        let cert = p.signed_by(&key, &self.cert, &self.key).unwrap();
        (cert.pem(), key.serialize_pem())
    }
}

fn certs(pem: &str) -> Vec<rustls::pki_types::CertificateDer<'static>> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<_, _>>()
        .unwrap()
}

fn key(pem: &str) -> rustls::pki_types::PrivateKeyDer<'static> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::PrivateKeyDer::from_pem_slice(pem.as_bytes()).unwrap()
}

/// A rustls listener for `axum::serve`: connections whose handshake fails are dropped.
struct TlsListener {
    tcp: tokio::net::TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((tcp, addr)) = self.tcp.accept().await else {
                continue;
            };
            if let Ok(tls) = self.acceptor.accept(tcp).await {
                return (tls, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.tcp.local_addr()
    }
}

/// Serves a one-series `/metrics` over HTTPS with `config`.
async fn serve_https(config: rustls::ServerConfig, series: &'static str) -> SocketAddr {
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = tcp.local_addr().unwrap();
    let listener = TlsListener {
        tcp,
        acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)),
    };
    let app = Router::new().route(
        "/metrics",
        get(move || async move { format!("{series} 1\n") }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn server_config(cert: &(String, String)) -> rustls::ServerConfig {
    rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs(&cert.0), key(&cert.1))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_targets_are_trusted_or_refused_as_tls_config_says() {
    let ca = Ca::new("Lookout test CA");
    let other_ca = Ca::new("Some other CA");
    let dir = TempDir::new("tls");
    dir.write("ca.pem", &ca.cert.pem());
    dir.write("other-ca.pem", &other_ca.cert.pem());

    // For 127.0.0.1: plain server-authenticated TLS.
    let ip_cert = ca.issue(&["127.0.0.1"]);
    let plain = serve_https(server_config(&ip_cert), "plain_ok").await;
    // Only for the name metrics.internal, though reached at 127.0.0.1.
    let named = serve_https(server_config(&ca.issue(&["metrics.internal"])), "named_ok").await;
    // Asks for a client certificate signed by the CA.
    let client_cert = ca.issue(&["lookout-relay"]);
    dir.write("client.pem", &client_cert.0);
    dir.write("client-key.pem", &client_cert.1);
    let mut client_roots = rustls::RootCertStore::empty();
    client_roots.add(certs(&ca.cert.pem())[0].clone()).unwrap();
    let client_verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        client_roots.into(),
        provider(),
    )
    .build()
    .unwrap();
    let mtls_config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(client_verifier)
        .with_single_cert(certs(&ip_cert.0), key(&ip_cert.1))
        .unwrap();
    let mtls = serve_https(mtls_config, "mtls_ok").await;
    // Speaks TLS 1.2 only.
    let tls12_config = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS12])
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs(&ip_cert.0), key(&ip_cert.1))
        .unwrap();
    let tls12 = serve_https(tls12_config, "tls12_ok").await;

    let job = |name: &str, addr: SocketAddr, tls: &str| {
        format!(
            "  - job_name: {name}\n    scheme: https\n    static_configs:\n      - targets: ['{addr}']\n    tls_config:\n{tls}"
        )
    };
    // Relative files are relative to the config file, as in Prometheus.
    let config = [
        "global:\n  scrape_interval: 300ms\n  scrape_timeout: 300ms\nscrape_configs:\n".to_owned(),
        job("good", plain, "      ca_file: ca.pem\n"),
        job("wrong_ca", plain, "      ca_file: other-ca.pem\n"),
        job("system_roots", plain, "      {}\n"),
        job("insecure", plain, "      insecure_skip_verify: true\n"),
        job(
            "named",
            named,
            "      ca_file: ca.pem\n      server_name: metrics.internal\n",
        ),
        job("name_mismatch", named, "      ca_file: ca.pem\n"),
        job(
            "mtls",
            mtls,
            "      ca_file: ca.pem\n      cert_file: client.pem\n      key_file: client-key.pem\n",
        ),
        job("mtls_no_cert", mtls, "      ca_file: ca.pem\n"),
        job(
            "tls12",
            tls12,
            "      ca_file: ca.pem\n      min_version: TLS12\n",
        ),
        job(
            "tls13_only",
            tls12,
            "      ca_file: ca.pem\n      min_version: TLS13\n",
        ),
    ]
    .concat();
    let relay = relay_with(&dir, &config).await;

    for (job, series) in [
        ("good", "plain_ok"),
        ("insecure", "plain_ok"),
        ("named", "named_ok"),
        ("mtls", "mtls_ok"),
        ("tls12", "tls12_ok"),
    ] {
        let t = scraped_target(&relay, job).await;
        assert_eq!(t["health"], "up", "{job}: {t}");
        assert!(
            t["scrapeUrl"].as_str().unwrap().starts_with("https://"),
            "{t}"
        );
        assert!(
            series_with(&relay, "job", job)
                .iter()
                .any(|l| l.metric_name() == Some(series)),
            "{job}: {series} stored"
        );
    }
    for (job, reason) in [
        ("wrong_ca", "certificate signed by unknown authority"),
        ("system_roots", "certificate signed by unknown authority"),
        ("name_mismatch", "not valid for this host"),
        (
            "mtls_no_cert",
            "tls: received fatal alert: CertificateRequired",
        ),
        ("tls13_only", "tls: received fatal alert: ProtocolVersion"),
    ] {
        let t = scraped_target(&relay, job).await;
        assert_eq!(t["health"], "down", "{job}: {t}");
        let err = t["lastError"].as_str().unwrap();
        assert!(err.contains(reason), "{job}: {err:?} should say {reason:?}");
        assert!(
            series_with(&relay, "job", job)
                .iter()
                .all(|l| !l.metric_name().unwrap_or_default().ends_with("_ok"))
        );
    }
    relay.shutdown();
}

#[tokio::test]
async fn a_tls_config_whose_file_is_missing_is_refused_with_file_line_and_field() {
    let dir = TempDir::new("tls-bad");
    let file = dir.write(
        "prometheus.yml",
        "scrape_configs:\n  - job_name: a\n    static_configs: [{targets: ['h:1']}]\n  - job_name: b\n    scheme: https\n    tls_config:\n      ca_file: missing.pem\n",
    );
    let e = lookout_relay::Config::load(&file).unwrap_err();
    assert_eq!(e.line, Some(6), "{e}");
    assert_eq!(e.field, "scrape_configs[1].tls_config.ca_file", "{e}");
    assert!(e.to_string().contains("missing.pem"), "{e}");
}
