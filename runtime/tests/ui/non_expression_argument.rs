#[runtime::main(fn)]
async fn main() {}
