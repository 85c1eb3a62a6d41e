//! Attribute misuse is a compile error at the offending tokens: the expected compiler output
//! of each case is committed beside it (`tests/ui/*.stderr`).

#[test]
fn attribute_misuse() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}

/// Built without the `native` feature, `#[runtime::main]` has no default backend: the error
/// names the fix. Run with `cargo test -p runtime --no-default-features --test compile_fail`.
#[cfg(not(feature = "native"))]
#[test]
fn main_without_default_backend() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui-no-native/*.rs");
}
