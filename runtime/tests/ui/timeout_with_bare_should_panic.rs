#[runtime::test(runtime_tokio::Tokio, timeout = "5s")]
#[should_panic]
async fn panics() {
    panic!("boom");
}

fn main() {}
