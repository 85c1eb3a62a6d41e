//! Benchmarks of the `runtime` facade and its backends; run them with `cargo bench` from the
//! repository's root. This library is empty: the benchmarks are in `benches/`.
