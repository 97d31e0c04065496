//! A real HTTP scrape target whose metrics the test sets, and which the test can stop.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::routing::get;

/// A `/metrics` endpoint serving a counter the test controls.
#[derive(Debug)]
pub struct TestTarget {
    pub addr: SocketAddr,
    value: Arc<Mutex<f64>>,
    task: tokio::task::JoinHandle<()>,
}

impl TestTarget {
    /// Serves `e2e_counter_total <value>` on a free loopback port.
    pub async fn start(initial: f64) -> anyhow::Result<TestTarget> {
        let value = Arc::new(Mutex::new(initial));
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let app = Router::new()
            .route(
                "/metrics",
                get(|State(v): State<Arc<Mutex<f64>>>| async move {
                    let v = *v.lock().unwrap_or_else(|e| e.into_inner());
                    format!("# HELP e2e_counter_total A counter the test sets.\n# TYPE e2e_counter_total counter\ne2e_counter_total {v}\n")
                }),
            )
            .with_state(value.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(TestTarget { addr, value, task })
    }

    pub fn url(&self) -> String {
        format!("http://{}/metrics", self.addr)
    }

    pub fn set(&self, v: f64) {
        *self.value.lock().unwrap_or_else(|e| e.into_inner()) = v;
    }

    /// Stops serving: the port refuses connections from now on.
    pub fn stop(&self) {
        self.task.abort();
    }
}

impl Drop for TestTarget {
    fn drop(&mut self) {
        self.task.abort();
    }
}
