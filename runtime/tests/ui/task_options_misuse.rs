#[runtime::test(allow_task_panics, allow_task_panics)]
async fn twice() {}

#[runtime::test(allow_task_panics, runtime_tokio::Tokio)]
async fn option_before_backend() {}

#[runtime::bench(runtime_tokio::Tokio, shutdown_timeout = "5s")]
async fn graceful_bench() {}

#[runtime::bench(runtime_tokio::Tokio, allow_task_panics)]
async fn panicky_bench() {}

fn main() {}
