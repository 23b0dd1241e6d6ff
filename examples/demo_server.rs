//! The demo service that `suites/demo.yaml` runs against until the embedded mock
//! lands: `cargo run --example demo_server` serves it on 127.0.0.1:8765.

#[path = "../tests/common/role_server.rs"]
mod role_server;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(8765);
    let (addr, _stats) = role_server::start(([127, 0, 0, 1], port).into()).await?;
    eprintln!("demo service on http://{addr}/ (Ctrl-C stops it)");
    tokio::signal::ctrl_c().await
}
