//! Address conversion and name resolution.

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use crate::raw::Instance;

/// Values that name one or more socket addresses.
///
/// Implemented (and sealed) for `SocketAddr`, `SocketAddrV4`, `SocketAddrV6`,
/// `(IpAddr | Ipv4Addr | Ipv6Addr, u16)`, `(&str | String, u16)`, `&str` and `String` of the form
/// `host:port`, `&[SocketAddr]`, and references to any of these. Literal addresses never block;
/// host names are resolved off the runtime's workers by asynchronous operations, and on the
/// caller's thread by the synchronous `bind`, as `std` does.
///
/// # Examples
/// ```
/// # #[runtime::main(runtime_tokio::Tokio)]
/// # async fn main() -> std::io::Result<()> {
/// use std::net::Ipv4Addr;
/// let a = runtime::net::UdpSocket::bind("127.0.0.1:0")?;
/// let b = runtime::net::UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))?;
/// b.send_to(b"hi", a.local_addr()?).await?;
/// # Ok(())
/// # }
/// ```
pub trait ToSocketAddrs: sealed::Sealed {}

impl<T: sealed::Sealed + ?Sized> ToSocketAddrs for T {}

pub(crate) mod sealed {
    /// Where an address value points: what `ToSocketAddrs` is, privately.
    pub trait Sealed {
        #[doc(hidden)]
        fn target(&self) -> super::Target;
    }
}

use sealed::Sealed;

/// An address value, converted without blocking.
#[derive(Debug)]
pub enum Target {
    /// One literal address: the common case, kept free of allocation.
    One(SocketAddr),
    /// Literal addresses.
    Addrs(Vec<SocketAddr>),
    /// A host name to resolve, and its port.
    Host(String, u16),
    /// Not an address; the error says why.
    Invalid(String),
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::One(addr) => write!(f, "{addr}"),
            Target::Addrs(addrs) if addrs.len() == 1 => write!(f, "{}", addrs[0]),
            Target::Addrs(addrs) => write!(f, "{addrs:?}"),
            Target::Host(host, port) => write!(f, "{host}:{port}"),
            Target::Invalid(text) => write!(f, "{text:?}"),
        }
    }
}

/// Adds the address to an error's message, keeping its kind.
pub(crate) fn with_addr(err: io::Error, what: &str, addr: &dyn fmt::Display) -> io::Error {
    io::Error::new(err.kind(), format!("{what} {addr}: {err}"))
}

impl Target {
    fn one(addr: SocketAddr) -> Target {
        Target::One(addr)
    }

    fn host(host: &str, port: u16) -> Target {
        match host.parse::<IpAddr>() {
            Ok(ip) => Target::one(SocketAddr::new(ip, port)),
            Err(_) if host.is_empty() => Target::Invalid(format!("{host}:{port}")),
            Err(_) => Target::Host(host.to_owned(), port),
        }
    }

    fn text(text: &str) -> Target {
        if let Ok(addr) = text.parse::<SocketAddr>() {
            return Target::one(addr);
        }
        match text.rsplit_once(':') {
            Some((host, port)) if !host.contains(':') => match port.parse::<u16>() {
                Ok(port) => Target::host(host, port),
                Err(_) => Target::Invalid(text.to_owned()),
            },
            _ => Target::Invalid(text.to_owned()),
        }
    }

    fn invalid(text: &str) -> io::Error {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("invalid socket address {text:?}: expected `host:port` or `ip:port`"),
        )
    }

    fn none(&self) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidInput, format!("{self} resolved to no address"))
    }

    /// Resolves on the calling thread (for the synchronous `bind`).
    pub(crate) fn resolve_blocking(self) -> io::Result<Vec<SocketAddr>> {
        match self {
            Target::One(addr) => Ok(vec![addr]),
            Target::Addrs(addrs) if addrs.is_empty() => Err(Target::Addrs(addrs).none()),
            Target::Addrs(addrs) => Ok(addrs),
            Target::Invalid(text) => Err(Target::invalid(&text)),
            Target::Host(host, port) => {
                let resolved = std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), port))
                    .map_err(|e| with_addr(e, "could not resolve", &format_args!("{host}:{port}")))?;
                let addrs: Vec<_> = resolved.collect();
                if addrs.is_empty() { Err(Target::Host(host, port).none()) } else { Ok(addrs) }
            }
        }
    }

    /// Resolves off the runtime's workers.
    pub(crate) async fn resolve(self, instance: &dyn Instance) -> io::Result<Vec<SocketAddr>> {
        match self {
            Target::Host(host, port) => {
                let label = format!("{host}:{port}");
                let addrs =
                    instance.resolve(host, port).await.map_err(|e| with_addr(e, "could not resolve", &label))?;
                if addrs.is_empty() {
                    return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("{label} resolved to no address")));
                }
                Ok(addrs)
            }
            other => other.resolve_blocking(),
        }
    }
}

impl Sealed for SocketAddr {
    fn target(&self) -> Target {
        Target::one(*self)
    }
}

impl Sealed for SocketAddrV4 {
    fn target(&self) -> Target {
        Target::one((*self).into())
    }
}

impl Sealed for SocketAddrV6 {
    fn target(&self) -> Target {
        Target::one((*self).into())
    }
}

impl Sealed for (IpAddr, u16) {
    fn target(&self) -> Target {
        Target::one((*self).into())
    }
}

impl Sealed for (Ipv4Addr, u16) {
    fn target(&self) -> Target {
        Target::one((*self).into())
    }
}

impl Sealed for (Ipv6Addr, u16) {
    fn target(&self) -> Target {
        Target::one((*self).into())
    }
}

impl Sealed for (&str, u16) {
    fn target(&self) -> Target {
        Target::host(self.0, self.1)
    }
}

impl Sealed for (String, u16) {
    fn target(&self) -> Target {
        Target::host(&self.0, self.1)
    }
}

impl Sealed for str {
    fn target(&self) -> Target {
        Target::text(self)
    }
}

impl Sealed for String {
    fn target(&self) -> Target {
        Target::text(self)
    }
}

impl Sealed for [SocketAddr] {
    fn target(&self) -> Target {
        Target::Addrs(self.to_vec())
    }
}

impl<T: Sealed + ?Sized> Sealed for &T {
    fn target(&self) -> Target {
        (**self).target()
    }
}
