#[runtime::main(runtime_tokio::Tokio, runtime_tokio::TokioCurrentThread)]
async fn main() {}
