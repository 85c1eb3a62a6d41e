//! Parsing the attribute's arguments: backends first, then options.

use proc_macro2::{Span, TokenStream};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, ExprAssign, ExprLit, ExprPath, Ident, Lit, LitStr, Token};

/// One backend of the list.
pub struct Backend {
    /// The test's name in the module form: `name = EXPR`, or the path's last segment in
    /// snake_case; `None` for an unnamed expression that is not a path.
    pub name: Option<Ident>,
    /// Whether the user wrote the name.
    pub named: bool,
    pub expr: Expr,
}

pub struct Timeout {
    pub millis: u64,
    pub label: LitStr,
    /// The whole `timeout = "..."` argument.
    pub span: Span,
}

#[derive(Default)]
pub struct Args {
    pub backends: Vec<Backend>,
    pub timeout: Option<Timeout>,
    /// The `start_paused` argument's span.
    pub start_paused: Option<Span>,
    /// `shutdown_timeout = "5s"`: the grace period of the tasks still running at the end.
    pub shutdown_timeout: Option<Timeout>,
    /// The `allow_task_panics` argument's span.
    pub allow_task_panics: Option<Span>,
}

impl Args {
    fn option_seen(&self) -> bool {
        self.timeout.is_some()
            || self.start_paused.is_some()
            || self.shutdown_timeout.is_some()
            || self.allow_task_panics.is_some()
    }
}

/// Stores an option given once; the error for one given twice, at the second's `span`.
fn set_once<T>(slot: &mut Option<T>, value: T, span: Span, name: &str) -> Option<syn::Error> {
    if slot.is_some() {
        return Some(syn::Error::new(span, format!("`{name}` is given twice")));
    }
    *slot = Some(value);
    None
}

/// Reads `A, B, name = EXPR, timeout = "5s", start_paused, shutdown_timeout = "1s",
/// allow_task_panics`, collecting every error.
pub fn parse(attr: TokenStream) -> syn::Result<Args> {
    let exprs = Punctuated::<Expr, Token![,]>::parse_terminated.parse2(attr)?;
    let mut args = Args::default();
    let mut errors: Option<syn::Error> = None;
    let mut push = |e: syn::Error| match &mut errors {
        Some(all) => all.combine(e),
        None => errors = Some(e),
    };
    for expr in exprs {
        let option_seen = args.option_seen();
        match classify(expr) {
            Ok(Arg::Timeout(timeout)) => {
                let span = timeout.span;
                if let Some(e) = set_once(&mut args.timeout, timeout, span, "timeout") {
                    push(e);
                }
            }
            Ok(Arg::StartPaused(span)) => {
                if let Some(e) = set_once(&mut args.start_paused, span, span, "start_paused") {
                    push(e);
                }
            }
            Ok(Arg::ShutdownTimeout(timeout)) => {
                let span = timeout.span;
                if let Some(e) = set_once(&mut args.shutdown_timeout, timeout, span, "shutdown_timeout") {
                    push(e);
                }
            }
            Ok(Arg::AllowTaskPanics(span)) => {
                if let Some(e) = set_once(&mut args.allow_task_panics, span, span, "allow_task_panics") {
                    push(e);
                }
            }
            Ok(Arg::Backend(backend)) => {
                if option_seen {
                    push(syn::Error::new_spanned(
                        &backend.expr,
                        "backends come before options: move this backend in front of `timeout`, `start_paused`, \
                         `shutdown_timeout` and `allow_task_panics`",
                    ));
                } else if let Some(dup) =
                    backend.name.as_ref().filter(|name| args.backends.iter().any(|b| b.name.as_ref() == Some(*name)))
                {
                    push(syn::Error::new_spanned(
                        &backend.expr,
                        format!("duplicate backend `{dup}`: each backend of the list gives one test named after it"),
                    ));
                } else {
                    args.backends.push(backend);
                }
            }
            Err(e) => push(e),
        }
    }
    match errors {
        Some(e) => Err(e),
        None => Ok(args),
    }
}

enum Arg {
    Backend(Backend),
    Timeout(Timeout),
    StartPaused(Span),
    ShutdownTimeout(Timeout),
    AllowTaskPanics(Span),
}

fn single_ident(expr: &Expr) -> Option<&Ident> {
    match expr {
        Expr::Path(ExprPath { qself: None, path, attrs, .. }) if attrs.is_empty() => path.get_ident(),
        _ => None,
    }
}

fn classify(expr: Expr) -> syn::Result<Arg> {
    if let Some(ident) = single_ident(&expr) {
        if ident == "start_paused" {
            return Ok(Arg::StartPaused(ident.span()));
        }
        if ident == "allow_task_panics" {
            return Ok(Arg::AllowTaskPanics(ident.span()));
        }
    }
    if let Expr::Assign(ExprAssign { left, right, .. }) = &expr {
        if let Some(ident) = single_ident(left) {
            if ident == "timeout" {
                return parse_timeout("timeout", &expr, right).map(Arg::Timeout);
            }
            if ident == "shutdown_timeout" {
                return parse_timeout("shutdown_timeout", &expr, right).map(Arg::ShutdownTimeout);
            }
            return Ok(Arg::Backend(Backend { name: Some(ident.clone()), named: true, expr: (**right).clone() }));
        }
        return Err(syn::Error::new_spanned(left, "expected a name: `name = EXPR`"));
    }
    let name = match &expr {
        Expr::Path(ExprPath { path, .. }) => path
            .segments
            .last()
            .map(|segment| Ident::new(&snake_case(&segment.ident.to_string()), segment.ident.span())),
        _ => None,
    };
    Ok(Arg::Backend(Backend { name, named: false, expr }))
}

/// `NAME = "5s"`: `timeout` or `shutdown_timeout`, which share the value syntax.
fn parse_timeout(name: &str, whole: &Expr, value: &Expr) -> syn::Result<Timeout> {
    let Expr::Lit(ExprLit { lit: Lit::Str(label), .. }) = value else {
        return Err(syn::Error::new_spanned(value, format!("expected a string such as `{name} = \"5s\"`")));
    };
    let millis = parse_duration(&label.value()).ok_or_else(|| {
        syn::Error::new_spanned(
            label,
            format!(
                "invalid {name}: write a whole number greater than zero followed by `ms`, `s` or `m`, \
                 such as \"250ms\", \"5s\" or \"2m\""
            ),
        )
    })?;
    Ok(Timeout { millis, label: label.clone(), span: whole.span() })
}

/// `^[1-9][0-9]*(ms|s|m)$` in milliseconds.
fn parse_duration(text: &str) -> Option<u64> {
    let digits = text.len() - text.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let (number, unit) = text.split_at(digits);
    if number.is_empty() || number.starts_with('0') {
        return None;
    }
    let number: u64 = number.parse().ok()?;
    let scale = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        _ => return None,
    };
    number.checked_mul(scale)
}

/// `TokioCurrentThread` -> `tokio_current_thread`, `HTTPBackend` -> `http_backend`.
pub fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            let prev = i.checked_sub(1).map(|j| chars[j]);
            let next = chars.get(i + 1).copied();
            let boundary = prev.is_some_and(|p| p.is_lowercase() || p.is_ascii_digit())
                || (prev.is_some_and(char::is_uppercase) && next.is_some_and(char::is_lowercase));
            if boundary && !out.ends_with('_') {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_cases() {
        assert_eq!(snake_case("TokioCurrentThread"), "tokio_current_thread");
        assert_eq!(snake_case("Native"), "native");
        assert_eq!(snake_case("HTTPBackend"), "http_backend");
        assert_eq!(snake_case("tokio"), "tokio");
        assert_eq!(snake_case("Tokio2Fast"), "tokio2_fast");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("250ms"), Some(250));
        assert_eq!(parse_duration("5s"), Some(5_000));
        assert_eq!(parse_duration("2m"), Some(120_000));
        for bad in ["0s", "5 s", "s", "05s", "5h", "", "-1s", "1.5s"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }
}
