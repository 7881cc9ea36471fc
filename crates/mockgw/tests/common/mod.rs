//! Shared helpers for the integration tests: a small reqwest wrapper that only ever talks to the
//! mock on 127.0.0.1.
#![allow(dead_code)]

use msync_mockgw::{Flavor, MockConfig, MockGateway, MockHandle};
use reqwest::header::HeaderMap;
use reqwest::{Client, Method, StatusCode};
use serde_json::Value;
use std::time::Duration;

pub const TOKEN: &str = "mock-admin-token";

pub fn start(cfg: MockConfig) -> MockHandle {
    MockGateway::start(cfg).expect("mock starts")
}

pub fn cfg(flavor: Flavor) -> MockConfig {
    MockConfig::new(flavor)
}

pub fn client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .unwrap()
}

/// A finished exchange: status, headers, raw body text.
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.text))
    }
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    }
}

/// A request builder bound to a mock's base URL.
pub struct Api {
    pub base: String,
    pub client: Client,
    pub headers: Vec<(String, String)>,
}

impl Api {
    pub fn new(mock: &MockHandle) -> Self {
        Api {
            base: mock.base_url(),
            client: client(),
            headers: Vec::new(),
        }
    }

    /// New API family admin headers.
    pub fn admin(mock: &MockHandle) -> Self {
        Api::new(mock)
            .with("Authorization", &format!("Bearer {TOKEN}"))
            .with("New-Api-User", "1")
    }

    pub fn with(mut self, k: &str, v: &str) -> Self {
        self.headers.push((k.to_string(), v.to_string()));
        self
    }

    pub async fn send(&self, method: Method, path: &str, body: Option<&Value>) -> Resp {
        let mut req = self
            .client
            .request(method, format!("{}{}", self.base, path));
        for (k, v) in &self.headers {
            req = req.header(k, v);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await.expect("request reaches the mock");
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.expect("body");
        Resp {
            status,
            headers,
            text,
        }
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.send(Method::GET, path, None).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Resp {
        self.send(Method::PUT, path, Some(&body)).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Resp {
        self.send(Method::POST, path, Some(&body)).await
    }
}
