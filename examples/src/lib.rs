//! Helpers shared by the example programs (`cargo run --example NAME` from the repository's
//! root): a tiny command-line reader, so that the examples need no argument-parsing crate.

/// The command line: positional arguments and `--name value` options.
#[derive(Debug, Clone, Default)]
pub struct Args {
    positional: Vec<String>,
    options: Vec<(String, String)>,
}

impl Args {
    /// Reads `std::env::args()`.
    pub fn parse() -> Args {
        Args::from(std::env::args().skip(1))
    }

    /// The `i`-th argument that is not an option.
    pub fn positional(&self, i: usize) -> Option<&str> {
        self.positional.get(i).map(String::as_str)
    }

    /// The value of `--name value`.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.options.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The value of `--name N`, as a number.
    ///
    /// # Panics
    /// When the value is not a number: the user should hear about it.
    pub fn number(&self, name: &str) -> Option<usize> {
        self.value(name).map(|v| v.parse().unwrap_or_else(|_| panic!("{name} expects a number, got {v:?}")))
    }
}

impl<I: IntoIterator<Item = String>> From<I> for Args {
    fn from(args: I) -> Args {
        let mut parsed = Args::default();
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            match arg.strip_prefix("--") {
                Some(_) => {
                    let value = args.next().unwrap_or_default();
                    parsed.options.push((arg, value));
                }
                None => parsed.positional.push(arg),
            }
        }
        parsed
    }
}

/// A small xorshift generator: enough randomness for a guessing game, no dependency.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// Seeded from the clock.
    pub fn from_time() -> Rng {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos());
        Rng::new(nanos as u64)
    }

    /// Seeded with `seed` (never zero).
    pub fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }

    /// A number in `low..=high`.
    pub fn between(&mut self, low: u64, high: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        low + self.0 % (high - low + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_positional_and_options() {
        let args = Args::from(["127.0.0.1:0", "--max-connections", "3", "extra"].map(String::from));
        assert_eq!(args.positional(0), Some("127.0.0.1:0"));
        assert_eq!(args.positional(1), Some("extra"));
        assert_eq!(args.number("--max-connections"), Some(3));
        assert_eq!(args.value("--message"), None);
    }

    #[test]
    fn rng_stays_in_range() {
        let mut rng = Rng::new(7);
        assert!((0..1000).map(|_| rng.between(1, 100)).all(|n| (1..=100).contains(&n)));
    }
}
