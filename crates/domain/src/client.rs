use std::{
    fmt,
    net::{IpAddr, Ipv6Addr},
};

/// Where a request comes from, as rate limits count it: an IPv4 address,
/// or the /64 network of an IPv6 one (one subscriber usually holds a
/// whole /64, so its single addresses are free to pick).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientAddress(IpAddr);

impl ClientAddress {
    /// ```
    /// use todos_domain::ClientAddress;
    ///
    /// let a = ClientAddress::new("2001:db8:1:2:aaaa::1".parse().unwrap());
    /// let b = ClientAddress::new("2001:db8:1:2:bbbb::2".parse().unwrap());
    /// assert_eq!(a, b);
    /// assert_eq!(a.to_string(), "2001:db8:1:2::/64");
    /// let mapped = ClientAddress::new("::ffff:192.0.2.7".parse().unwrap());
    /// assert_eq!(mapped.to_string(), "192.0.2.7");
    /// ```
    pub fn new(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => Self(IpAddr::V4(v4)),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self(IpAddr::V4(v4)),
                None => {
                    let network = u128::from(v6) & !(u128::MAX >> 64);
                    Self(IpAddr::V6(Ipv6Addr::from(network)))
                }
            },
        }
    }
}

impl fmt::Display for ClientAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            IpAddr::V4(v4) => write!(f, "{v4}"),
            IpAddr::V6(v6) => write!(f, "{v6}/64"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_are_keyed_by_their_64() {
        let key = |s: &str| ClientAddress::new(s.parse().unwrap()).to_string();
        assert_eq!(key("2001:db8::1"), "2001:db8::/64");
        assert_ne!(key("2001:db8:0:1::1"), key("2001:db8:0:2::1"));
        assert_eq!(key("127.0.0.1"), "127.0.0.1");
        assert_ne!(key("10.0.0.1"), key("10.0.0.2"));
    }
}
