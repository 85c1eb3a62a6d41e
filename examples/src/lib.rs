//! Example programs for the `runtime` facade; run one with `cargo run --example NAME` from the
//! repository's root. This library is empty: the programs are in `examples/`.
