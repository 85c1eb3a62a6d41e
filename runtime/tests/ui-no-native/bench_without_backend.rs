#[runtime::bench]
async fn one_iteration() {}

fn main() {}
