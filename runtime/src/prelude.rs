//! The timeout extension traits, in scope without their names:
//! `use runtime::prelude::*;` never clashes with futures' traits of the same names.

pub use crate::time::{AsyncReadExt as _, FutureExt as _, StreamExt as _};
