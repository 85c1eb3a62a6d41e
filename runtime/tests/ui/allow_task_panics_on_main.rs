#[runtime::main(runtime_tokio::Tokio, allow_task_panics)]
async fn main() {}
