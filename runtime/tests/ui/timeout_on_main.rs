#[runtime::main(runtime_tokio::Tokio, timeout = "5s")]
async fn main() {}
