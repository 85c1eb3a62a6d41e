//! Validating the function and expanding `#[runtime::main]` and `#[runtime::test]`.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Attribute, ItemFn, ReturnType};

use crate::args::{self, Args};

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Main,
    Test,
    Bench,
}

impl Kind {
    fn attr(self) -> &'static str {
        match self {
            Kind::Main => "#[runtime::main]",
            Kind::Test => "#[runtime::test]",
            Kind::Bench => "#[runtime::bench]",
        }
    }
}

/// Parse, validate, expand; on error, the errors and the item as it was.
pub fn entry(kind: Kind, attr: TokenStream, item: TokenStream) -> TokenStream {
    let function: ItemFn = match syn::parse2(item.clone()) {
        Ok(function) => function,
        Err(e) => return with_item(e, item),
    };
    let args = args::parse(attr);
    let checked = validate(kind, &function, args.as_ref().ok());
    let error = match (args, checked) {
        (Ok(args), Ok(test_attrs)) => return expand(kind, function, args, test_attrs),
        (Err(mut e), Err(more)) => {
            e.combine(more);
            e
        }
        (Err(e), _) | (_, Err(e)) => e,
    };
    match kind {
        Kind::Main => with_item(error, unexpanded_main(function)),
        Kind::Test | Kind::Bench => with_item(error, item),
    }
}

/// The function as the user wrote it, minus what rustc would reject on its own (an `async fn
/// main`): the body stays type-checked, so an IDE keeps understanding it, but never runs.
fn unexpanded_main(mut function: ItemFn) -> TokenStream {
    if function.sig.asyncness.take().is_none() {
        return quote! { #function };
    }
    let ty = output_type(&function);
    let block = &function.block;
    let body: syn::Block = syn::parse_quote! {{
        let _: ::core::pin::Pin<::std::boxed::Box<dyn ::core::future::Future<Output = #ty>>> =
            ::std::boxed::Box::pin(async #block);
        ::core::unreachable!()
    }};
    *function.block = body;
    quote! { #function }
}

fn with_item(error: syn::Error, item: TokenStream) -> TokenStream {
    let error = error.to_compile_error();
    quote! { #error #item }
}

/// The function's `#[should_panic]` and `#[ignore]`, which go on each generated test.
struct TestAttrs {
    test: Vec<Attribute>,
    other: Vec<Attribute>,
}

/// Checks the function against the attribute; every problem is reported, each at its tokens.
fn validate(kind: Kind, function: &ItemFn, args: Option<&Args>) -> syn::Result<TestAttrs> {
    let mut errors: Vec<syn::Error> = Vec::new();
    let sig = &function.sig;
    if sig.asyncness.is_none() {
        errors.push(syn::Error::new_spanned(
            sig.fn_token,
            format!("the `async` keyword is missing from the function declaration: {} runs an `async fn`", kind.attr()),
        ));
    }
    if !sig.inputs.is_empty() {
        errors.push(syn::Error::new_spanned(&sig.inputs, format!("{} functions take no arguments", kind.attr())));
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        errors.push(syn::Error::new_spanned(&sig.generics, format!("{} functions cannot be generic", kind.attr())));
    }
    let (test, other): (Vec<_>, Vec<_>) =
        function.attrs.iter().cloned().partition(|a| a.path().is_ident("should_panic") || a.path().is_ident("ignore"));
    if let Some(args) = args {
        if kind == Kind::Bench {
            if let Some(timeout) = &args.timeout {
                errors.push(syn::Error::new(timeout.span, "`timeout` is a test option; a bench takes only backends"));
            }
            if let Some(span) = args.start_paused {
                errors.push(syn::Error::new(span, "`start_paused` is a test option; a bench takes only backends"));
            }
            if let Some(timeout) = &args.shutdown_timeout {
                errors.push(syn::Error::new(
                    timeout.span,
                    "`shutdown_timeout` is an option of `main` and `test`; a bench takes only backends",
                ));
            }
            if let Some(span) = args.allow_task_panics {
                errors.push(syn::Error::new(span, "`allow_task_panics` is a test option; a bench takes only backends"));
            }
            if !test.is_empty() {
                errors.push(syn::Error::new_spanned(&test[0], "test attributes do not apply to a bench"));
            }
        }
        if kind == Kind::Main {
            if let Some(timeout) = &args.timeout {
                errors.push(syn::Error::new(
                    timeout.span,
                    "`timeout` is a test option; `main` takes a backend and `shutdown_timeout`",
                ));
            }
            if let Some(span) = args.start_paused {
                errors.push(syn::Error::new(
                    span,
                    "`start_paused` is a test option; `main` takes a backend and `shutdown_timeout`",
                ));
            }
            if let Some(span) = args.allow_task_panics {
                errors.push(syn::Error::new(
                    span,
                    "`allow_task_panics` is a test option: `main` never fails because of a task's panic",
                ));
            }
            if args.backends.len() > 1 || args.backends.iter().any(|b| b.named) {
                let extra = args.backends.iter().find(|b| b.named).or(args.backends.get(1)).expect("checked");
                errors.push(syn::Error::new_spanned(
                    &extra.expr,
                    "`#[runtime::main]` takes one backend, unnamed: `#[runtime::main(runtime_tokio::Tokio)]`",
                ));
            }
            if !test.is_empty() {
                errors.push(syn::Error::new_spanned(&test[0], "test attributes do not apply to `main`"));
            }
        }
        if args.timeout.is_some() {
            let bare = test.iter().find(|a| a.path().is_ident("should_panic") && matches!(a.meta, syn::Meta::Path(_)));
            if let Some(bare) = bare {
                errors.push(syn::Error::new_spanned(
                    bare,
                    "a bare `#[should_panic]` would pass when the test times out: name the expected message, \
                     `#[should_panic(expected = \"...\")]`",
                ));
            }
        }
        let module_form = args.backends.len() > 1 || args.backends.iter().any(|b| b.named);
        if module_form {
            for backend in args.backends.iter().filter(|b| b.name.is_none()) {
                errors.push(syn::Error::new_spanned(
                    &backend.expr,
                    "name this backend: `name = EXPR` (only a path names itself, by its last segment)",
                ));
            }
        }
    }
    let mut errors = errors.into_iter();
    match errors.next() {
        None => Ok(TestAttrs { test, other }),
        Some(mut first) => {
            errors.for_each(|e| first.combine(e));
            Err(first)
        }
    }
}

/// The `::runtime::__private::Options` of a run: the options given, and, for a test without
/// `allow_task_panics`, the panic rule.
fn options(kind: Kind, args: &Args) -> TokenStream {
    let mut options = quote! { ::runtime::__private::Options::new() };
    if args.start_paused.is_some() {
        options = quote! { #options.start_paused() };
    }
    if let Some(timeout) = &args.shutdown_timeout {
        let millis = timeout.millis;
        options = quote! { #options.shutdown_timeout_ms(#millis) };
    }
    if kind == Kind::Test && args.allow_task_panics.is_none() {
        options = quote! { #options.record_task_panics() };
    }
    options
}

fn output_type(function: &ItemFn) -> TokenStream {
    match &function.sig.output {
        ReturnType::Default => quote! { () },
        ReturnType::Type(_, ty) => quote! { #ty },
    }
}

/// The backend an attribute without one runs on. Spanned at the attribute (the call site of an
/// attribute macro), so that the error of a build without one, the `compile_error!` inside,
/// points at the attribute and not at the function under it.
fn default_backend() -> TokenStream {
    quote_spanned! {Span::call_site()=> ::runtime::__default_backend!() }
}

fn expand(kind: Kind, function: ItemFn, args: Args, attrs: TestAttrs) -> TokenStream {
    let span = function.sig.fn_token.span();
    let module_form = args.backends.len() > 1 || args.backends.iter().any(|b| b.named);
    if kind == Kind::Bench {
        return expand_bench(function, args, attrs, module_form);
    }
    if kind == Kind::Test && module_form {
        return expand_module(function, args, attrs);
    }
    let backend = match args.backends.first() {
        Some(backend) => {
            let expr = &backend.expr;
            quote! { #expr }
        }
        None => default_backend(),
    };
    let ItemFn { vis, sig, block, .. } = &function;
    let name = &sig.ident;
    let output = &sig.output;
    let ty = output_type(&function);
    let options = options(kind, &args);
    let run = quote_spanned! {span=>
        ::runtime::__private::run::<#ty, _, _>(#backend, #options, async #block)
    };
    let TestAttrs { test, other } = attrs;
    match kind {
        Kind::Bench => unreachable!("expanded above"),
        Kind::Main => quote! {
            #(#other)*
            #vis fn #name() #output {
                #run
            }
        },
        Kind::Test => {
            let should_panic = test.iter().any(|a| a.path().is_ident("should_panic"));
            let (output, body) = match &args.timeout {
                None => (quote! { #output }, run),
                Some(timeout) => watched(timeout, run, should_panic, quote! { -> ::std::process::ExitCode }),
            };
            quote! {
                #[::core::prelude::v1::test]
                #(#test)*
                #(#other)*
                #vis fn #name() #output {
                    #body
                }
            }
        }
    }
}

/// A test's return type and body running `run` under the wall-clock watchdog. A
/// `#[should_panic]` test returns `()`, as its body does; the others return `ret`, the exit code
/// of the body's result, reported on the body's own thread.
fn watched(
    timeout: &args::Timeout,
    run: TokenStream,
    should_panic: bool,
    ret: TokenStream,
) -> (TokenStream, TokenStream) {
    let millis = timeout.millis;
    let label = &timeout.label;
    let limit = quote! { ::core::time::Duration::from_millis(#millis) };
    if should_panic {
        (quote! {}, quote! { ::runtime::__private::watchdog(#limit, #label, move || { #run; }) })
    } else {
        (ret, quote! { ::runtime::__private::watchdog(#limit, #label, move || ::runtime::__private::report(#run)) })
    }
}

fn expand_module(function: ItemFn, args: Args, attrs: TestAttrs) -> TokenStream {
    let ItemFn { vis, sig, block, .. } = &function;
    let name = &sig.ident;
    let output = &sig.output;
    let body_fn = format_ident!("__runtime_test_body_{}", name);
    let TestAttrs { test, other } = attrs;
    let should_panic = test.iter().any(|a| a.path().is_ident("should_panic"));
    let options = options(Kind::Test, &args);
    let mut helpers = Vec::new();
    let mut tests = Vec::new();
    for (i, backend) in args.backends.iter().enumerate() {
        let test_name = backend.name.as_ref().expect("validated: every backend of a list has a name");
        let backend_fn = format_ident!("__runtime_test_backend_{}_{}", name, i);
        let expr = &backend.expr;
        helpers.push(quote! {
            #[doc(hidden)]
            #[allow(dead_code, non_snake_case)]
            #(#other)*
            fn #backend_fn() -> impl ::runtime::raw::Runtime {
                #expr
            }
        });
        let run = quote! { ::runtime::__private::run(super::#backend_fn(), #options, super::#body_fn()) };
        let plain = if should_panic {
            quote! {}
        } else {
            quote! { -> impl ::std::process::Termination }
        };
        let (ret, body) = match &args.timeout {
            None => (plain, run),
            Some(timeout) => watched(timeout, run, should_panic, quote! { -> ::std::process::ExitCode }),
        };
        tests.push(quote! {
            #[::core::prelude::v1::test]
            #(#test)*
            fn #test_name() #ret {
                #body
            }
        });
    }
    quote! {
        #(#helpers)*

        #[doc(hidden)]
        #[allow(dead_code, non_snake_case)]
        #(#other)*
        async fn #body_fn() #output #block

        #(#other)*
        #vis mod #name {
            #(#tests)*
        }
    }
}

/// `fn NAME(benches)` registering one benchmark per backend: `NAME`, or `NAME/BACKEND` for a
/// list. The body is one iteration.
fn expand_bench(function: ItemFn, args: Args, attrs: TestAttrs, list: bool) -> TokenStream {
    let span = function.sig.fn_token.span();
    let ItemFn { vis, sig, block, .. } = &function;
    let name = &sig.ident;
    let other = &attrs.other;
    let registrations: Vec<TokenStream> = if args.backends.is_empty() {
        let label = name.to_string();
        let backend = default_backend();
        vec![quote_spanned! {span=>
            benches.bench(#label, #backend, || async #block);
        }]
    } else {
        args.backends
            .iter()
            .map(|backend| {
                let expr = &backend.expr;
                let label = match (&backend.name, list) {
                    (Some(backend_name), true) => format!("{name}/{backend_name}"),
                    _ => name.to_string(),
                };
                quote! { benches.bench(#label, #expr, || async #block); }
            })
            .collect()
    };
    quote! {
        #(#other)*
        #[allow(dead_code)]
        #vis fn #name(benches: &mut ::runtime::__bench::Benches) {
            #(#registrations)*
        }
    }
}
