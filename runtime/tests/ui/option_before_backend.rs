#[runtime::test(timeout = "5s", runtime_tokio::Tokio)]
async fn late_backend() {}

fn main() {}
