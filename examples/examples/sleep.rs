//! Time: a `Delay`, an `Interval`, and timeouts on a future, a stream and a reader.
//!
//! Try it: `cargo run --example sleep`. Switch backends by changing the attribute's argument,
//! e.g. `#[runtime::main(runtime_tokio::Tokio)]`.

use std::time::Duration;

use futures::prelude::*;
use runtime::prelude::*;
use runtime::time::{Delay, Interval};

#[runtime::main]
async fn main() {
    let start = runtime::time::now();
    let fired = Delay::new(Duration::from_millis(50)).await;
    println!("delay fired after {:?}", fired - start);

    let ticks: Vec<_> = Interval::new(Duration::from_millis(20)).take(3).collect().await;
    for (k, tick) in ticks.iter().enumerate() {
        println!("interval tick {} at +{:?}", k + 1, *tick - start);
    }

    let quick = async { "in time" }.timeout(Duration::from_millis(100)).await;
    println!("future timeout: {quick:?}");
    let slow = Delay::new(Duration::from_secs(10)).timeout(Duration::from_millis(30)).await;
    println!("future timeout: {:?}", slow.map_err(|e| e.kind()));

    let mut items = stream::iter([1, 2]).chain(stream::pending()).timeout(Duration::from_millis(30));
    while let Some(item) = items.next().await {
        match item {
            Ok(n) => println!("stream item {n}"),
            Err(e) => {
                println!("stream timeout: {:?}", e.kind());
                break;
            }
        }
    }
}
