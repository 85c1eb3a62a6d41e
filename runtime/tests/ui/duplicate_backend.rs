#[runtime::test(runtime_tokio::Tokio, runtime_tokio::Tokio)]
async fn twice() {}

#[runtime::test(a = runtime_tokio::Tokio, a = runtime_tokio::TokioCurrentThread)]
async fn same_name() {}

fn main() {}
