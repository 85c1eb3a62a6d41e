#[runtime::main(runtime_tokio::Tokio)]
fn main() {}
