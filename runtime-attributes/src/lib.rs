//! The attributes of the `runtime` crate: `#[runtime::main]`, `#[runtime::test]` and
//! `#[runtime::bench]`.
//!
//! Use them through `runtime`, which re-exports them; their documentation is there. Each is
//! three steps, as separate functions: `args::parse` reads the attribute's arguments,
//! `entry::validate` checks the function against them, and `entry::expand` writes the
//! plain function (or module of tests) that calls `::runtime::__private::run`, and through it
//! `::runtime::raw::enter_with`. Errors point at the offending tokens and are emitted together
//! with the unchanged item, so that an IDE still understands the rest of the file.
#![forbid(unsafe_code)]

mod args;
mod entry;

use proc_macro::TokenStream;

/// Runs `async fn main` on a backend: `#[runtime::main]` or `#[runtime::main(EXPR)]`.
///
/// See the `runtime` crate's documentation.
#[proc_macro_attribute]
pub fn main(attr: TokenStream, item: TokenStream) -> TokenStream {
    entry::entry(entry::Kind::Main, attr.into(), item.into()).into()
}

/// Benchmarks an `async fn`, one iteration per call, on one or more backends:
/// `#[runtime::bench]`, `#[runtime::bench(EXPR)]`, `#[runtime::bench(A, B)]`.
///
/// See the `runtime` crate's documentation.
#[proc_macro_attribute]
pub fn bench(attr: TokenStream, item: TokenStream) -> TokenStream {
    entry::entry(entry::Kind::Bench, attr.into(), item.into()).into()
}

/// Runs an `async fn` test on one or more backends: `#[runtime::test]`,
/// `#[runtime::test(EXPR)]`, `#[runtime::test(A, B, name = EXPR, timeout = "5s")]`.
///
/// See the `runtime` crate's documentation.
#[proc_macro_attribute]
pub fn test(attr: TokenStream, item: TokenStream) -> TokenStream {
    entry::entry(entry::Kind::Test, attr.into(), item.into()).into()
}
