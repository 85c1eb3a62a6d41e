#[runtime::test(runtime_tokio::Tokio)]
fn not_async() {}

fn main() {}
