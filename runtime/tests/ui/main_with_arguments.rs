#[runtime::main(runtime_tokio::Tokio)]
async fn main(port: u16) {
    let _ = port;
}
