fn make() -> runtime_tokio::Tokio {
    runtime_tokio::Tokio
}

#[runtime::test(make(), runtime_tokio::TokioCurrentThread)]
async fn needs_a_name() {}

fn main() {}
